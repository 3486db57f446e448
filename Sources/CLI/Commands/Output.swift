#if canImport(Glibc)
import Glibc
#endif

/// Where commands print: standard output and error by default, buffers in tests.
public final class Output {
    private let outSink: (String) -> Void
    private let errSink: (String) -> Void

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        outSink = out
        errSink = err
    }

    public static let standard = Output(out: { fputs($0 + "\n", stdout) }, err: { fputs($0 + "\n", stderr) })

    public func out(_ line: String) { outSink(line) }
    public func err(_ line: String) { errSink(line) }
}
