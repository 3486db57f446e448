import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long conversion: files and bytes done out of a known total.
///
/// On a terminal it redraws one live line (files, bytes, throughput, ETA); otherwise it prints a
/// plain log line every few seconds, so CI logs and `nohup` files stay readable. `quiet` silences it.
public final class Progress: @unchecked Sendable {
    public enum Mode { case live, log, quiet }

    private let lock = NSLock()
    private let label: String
    private let totalFiles: Int
    private let totalBytes: Int
    private var files = 0
    private var bytes = 0
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let mode: Mode
    private let interval: TimeInterval
    /// Where lines go (standard error by default).
    private let sink: (String) -> Void

    public init(label: String, totalFiles: Int, totalBytes: Int, mode: Mode, sink: ((String) -> Void)? = nil) {
        self.label = label
        self.totalFiles = totalFiles
        self.totalBytes = totalBytes
        self.mode = mode
        self.interval = mode == .live ? 0.2 : 5
        self.sink = sink ?? { fputs($0, stderr) }
    }

    /// `.live` on a terminal, `.log` otherwise.
    public static func defaultMode(quiet: Bool) -> Mode {
        quiet ? .quiet : (isatty(STDERR_FILENO) == 1 ? .live : .log)
    }

    public func add(bytes n: Int) {
        lock.lock()
        bytes += n
        let now = Date()
        let due = now.timeIntervalSince(lastPrint) >= interval
        if due { lastPrint = now }
        lock.unlock()
        if due { render(final: false) }
    }

    public func fileDone() {
        lock.lock(); files += 1; lock.unlock()
    }

    public func finish() { render(final: true) }

    private func render(final: Bool) {
        guard mode != .quiet else { return }
        lock.lock()
        let f = files, b = bytes
        lock.unlock()
        let elapsed = max(Date().timeIntervalSince(start), 1e-6)
        let rate = Double(b) / elapsed
        let eta = rate > 0 ? Double(totalBytes - b) / rate : 0
        var line = "\(label): \(f)/\(totalFiles) files, \(Progress.size(b)) / \(Progress.size(totalBytes)), \(Progress.size(Int(rate)))/s"
        line += final ? ", \(String(format: "%.1f", elapsed)) s" : ", ETA \(String(format: "%.0f", eta)) s"
        switch mode {
        case .live: sink("\r\u{1B}[2K" + line + (final ? "\n" : ""))
        case .log: sink(line + "\n")
        case .quiet: break
        }
    }

    /// Human-readable byte count (binary units).
    public static func size(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[u]
    }
}
