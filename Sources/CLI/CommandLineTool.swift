#if canImport(Glibc)
import Glibc
#endif
import Ops

/// Entry point of the `mm-convert` binary: dispatches, runs, and renders every error once.
public enum CommandLineTool {
    public static func main(_ args: [String]) -> Never {
        exit(run(args, environment: [:], output: .standard))
    }

    /// Runs one command line; returns the exit status (0 ok, 1 failure, 2 usage error).
    public static func run(_ args: [String], environment: [String: String], output: Output) -> Int32 {
        do {
            try dispatch(args, output: output)
            return 0
        } catch let e as UsageError {
            output.err("mm-convert: error: \(e.description)")
            return 2
        } catch {
            output.err("mm-convert: error: \(error)")
            return 1
        }
    }

    static func dispatch(_ args: [String], output: Output) throws {
        guard let command = args.first else { throw UsageError("no command given", usage: "usage: mm-convert -h") }
        let rest = Array(args.dropFirst())
        switch command {
        case "sample": try SampleCommand.run(rest, output: output)
        case "verify": try VerifyCommand.run(rest, output: output)
        default: throw UsageError("unknown command '\(command)'", usage: "usage: mm-convert -h")
        }
    }
}
