import Foundation
import XCTest
import Ops

/// Runs the real libraries (torch, safetensors, numpy) through Python for the interop tests.
///
/// The interpreter is `$MM_CONVERT_PYTHON` (CI points it at a venv with torch, safetensors and
/// numpy). Without it, or when it cannot import them, the tests are skipped with the reason.
enum InteropPython {
    static let variable = "MM_CONVERT_PYTHON"

    /// The interpreter, checked once per test run.
    static let checked: Result<String, Error> = {
        guard let python = ProcessInfo.processInfo.environment[variable], !python.isEmpty else {
            return .failure(XCTSkip("\(variable) is not set: set it to a python with torch, safetensors and numpy (e.g. a venv's bin/python) to run the interop tests"))
        }
        do {
            let r = try run(python, ["-c", "import torch, safetensors, numpy; print(torch.__version__)"], timeout: 120)
            guard r.status == 0 else {
                return .failure(XCTSkip("\(variable)=\(python) cannot import torch, safetensors and numpy: \(r.stderr.suffix(300))"))
            }
            return .success(python)
        } catch {
            return .failure(XCTSkip("\(variable)=\(python) cannot be run: \(error)"))
        }
    }()

    /// The interpreter, or an XCTSkip explaining why there is none.
    static func python() throws -> String { try checked.get() }

    struct Result2 { var status: Int32; var stdout: String; var stderr: String }

    /// Runs `executable args` and waits at most `timeout` seconds (then kills it and throws).
    static func run(_ executable: String, _ args: [String], timeout: TimeInterval = 120) throws -> Result2 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        // Drain both pipes while the process runs, so a large output cannot block it.
        var outData = Data(), errData = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            _ = done.wait(timeout: .now() + 5)
            throw OpsError.io(path: executable, message: "timed out after \(Int(timeout)) s: \(args.joined(separator: " "))")
        }
        group.wait()
        return Result2(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs a script of Tests/Interop and fails with its stderr when it fails.
    static func script(_ name: String, _ args: [String], timeout: TimeInterval = 180) throws -> String {
        let r = try run(try python(), [InspectFixtures.interopScript(name)] + args, timeout: timeout)
        guard r.status == 0 else {
            throw OpsError.invalid("\(name) \(args.joined(separator: " ")) failed (status \(r.status)): \(r.stderr.suffix(2000))")
        }
        return r.stdout
    }

    /// Runs inline Python code.
    static func code(_ source: String, _ args: [String] = [], timeout: TimeInterval = 120) throws -> String {
        let r = try run(try python(), ["-c", source] + args, timeout: timeout)
        guard r.status == 0 else { throw OpsError.invalid("python failed (status \(r.status)): \(r.stderr.suffix(2000))") }
        return r.stdout
    }
}

/// describe.py's view of a file: every tensor by path, and every non-tensor leaf.
struct LibraryDescription {
    struct Entry: Equatable, CustomStringConvertible {
        var dtype: String
        var shape: [Int]
        var sha256: String
        var description: String { "\(dtype)\(shape) \(sha256.prefix(12))" }
    }
    var tensors: [String: Entry]
    var leaves: [String: [String]]

    /// `describe.py FILE [--weights-only] [--mmap]`.
    static func of(_ path: String, weightsOnly: Bool = true, mmap: Bool = false) throws -> LibraryDescription {
        var args = [path]
        if weightsOnly { args.append("--weights-only") }
        if mmap { args.append("--mmap") }
        return try parse(InteropPython.script("describe.py", args))
    }

    /// Several `describe.py` runs in one Python process (torch is imported once): each request is
    /// (path, weightsOnly, mmap); the results come back in the same order.
    static func many(_ requests: [(String, Bool, Bool)]) throws -> [LibraryDescription] {
        let specs = requests.map { r in [r.0] + (r.1 ? ["--weights-only"] : []) + (r.2 ? ["--mmap"] : []) }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: specs), as: UTF8.self)
        let text = try InteropPython.code("""
            import contextlib, io, json, runpy, sys
            script, out = sys.argv[1], []
            for spec in json.loads(sys.argv[2]):
                sys.argv = [script] + spec
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    runpy.run_path(script, run_name="__main__")
                out.append(json.loads(buf.getvalue()))
            print(json.dumps(out))
            """, [InspectFixtures.interopScript("describe.py"), json], timeout: 300)
        guard let list = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any], list.count == requests.count else {
            throw OpsError.invalid("batched describe.py output is not a list of \(requests.count): \(text.prefix(200))")
        }
        return try list.map { try parse(String(decoding: JSONSerialization.data(withJSONObject: $0), as: UTF8.self)) }
    }

    static func parse(_ text: String) throws -> LibraryDescription {
        let any = try JSONSerialization.jsonObject(with: Data(text.utf8))
        guard let root = any as? [String: Any], let ts = root["tensors"] as? [String: [String: Any]] else {
            throw OpsError.invalid("describe.py output is not {tensors, leaves}: \(text.prefix(200))")
        }
        var tensors: [String: Entry] = [:]
        for (path, d) in ts {
            tensors[path] = Entry(dtype: d["dtype"] as? String ?? "?", shape: d["shape"] as? [Int] ?? [-1], sha256: d["sha256"] as? String ?? "?")
        }
        let leaves = (root["leaves"] as? [String: [String]]) ?? [:]
        return LibraryDescription(tensors: tensors, leaves: leaves)
    }

    /// Our view in the same form: `Tensor.sha256()` of every tensor.
    static func entries(_ pairs: [(String, Tensor)]) throws -> [String: Entry] {
        var out: [String: Entry] = [:]
        for (path, t) in pairs { out[path] = Entry(dtype: t.dtype.torchName, shape: t.shape, sha256: try t.sha256()) }
        return out
    }
}

/// Asserts two descriptions hold the same tensor paths with equal dtype, shape and sha256.
func assertSameTensors(_ ours: [String: LibraryDescription.Entry], _ theirs: [String: LibraryDescription.Entry], _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(ours.keys.sorted(), theirs.keys.sorted(), "\(label): tensor paths", file: file, line: line)
    for (path, e) in ours {
        guard let t = theirs[path] else { continue }
        XCTAssertEqual(e, t, "\(label): \(path)", file: file, line: line)
    }
}
