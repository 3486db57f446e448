/// Every failure the operator library reports, with the context a user needs to act on it.
///
/// Errors carry the file, tensor or parameter they concern; they are rendered once, at the edge
/// (the command line or the REPL), by `description`.
public enum OpsError: Error, CustomStringConvertible, Equatable {
    /// A file could not be opened, read, written or renamed.
    case io(path: String, message: String)
    /// A file's content is malformed: truncated, inconsistent, or not the format expected.
    case format(path: String, message: String)
    /// A tensor does not fit an operation (shape, dtype, divisibility).
    case tensor(name: String, message: String)
    /// A name, pattern or parameter is missing or wrong.
    case invalid(String)
    /// A feature exists in the format but we refuse it on purpose, with what to do instead.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .io(path, message): return "\(path): \(message)"
        case let .format(path, message): return "\(path): \(message)"
        case let .tensor(name, message): return "tensor '\(name)': \(message)"
        case let .invalid(message): return message
        case let .unsupported(message): return message
        }
    }
}
