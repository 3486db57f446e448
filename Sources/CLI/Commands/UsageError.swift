/// A mistake in how a command was called (exit status 2), as opposed to a failure while running
/// it (exit status 1).
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    public let usage: String?

    public init(_ message: String, usage: String? = nil) {
        self.message = message
        self.usage = usage
    }

    public var description: String {
        if let usage { return "\(message)\n\(usage)" }
        return message
    }
}
