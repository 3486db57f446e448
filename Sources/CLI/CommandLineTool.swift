#if canImport(Glibc)
import Glibc
#endif

/// Entry point of the `mm-convert` binary: parses arguments, runs, renders errors once.
public enum CommandLineTool {
    public static func main(_ args: [String]) -> Never {
        fputs("mm-convert: not yet implemented\n", stderr)
        exit(2)
    }
}
