import CLI
import Foundation
import Ops
import XCTest

/// Runs the bundled converters through the command-line entry point, as users do, and compares
/// checkpoints: MindSpeed-MM directories tensor by tensor (name, dtype, shape, SHA-256, rank
/// directories and top-level entries of every rank file), Hugging Face directories byte for byte.
enum Converters {
    /// `<repo root>/../shared/fixtures` (CI; this file is Tests/CLITests/X.swift); a git worktree
    /// nested one level deeper finds it at `../../shared`.
    static let fixtures: String = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let beside = repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        if FileManager.default.fileExists(atPath: beside.path) { return beside.path }
        return repo.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    }()

    static func hf(_ name: String) -> String { fixtures + "/hf/" + name }
    static func golden(_ name: String) -> String { fixtures + "/golden/" + name }

    /// Runs `mm-convert ARGS --quiet`; throws with everything the command printed when it fails.
    @discardableResult
    static func run(_ args: [String]) throws -> [String] {
        var lines: [String] = []
        let output = Output(out: { lines.append($0) }, err: { lines.append($0) })
        let status = CommandLineTool.run(args + ["--quiet"], environment: [:], output: output)
        guard status == 0 else {
            throw ConverterTestError("mm-convert \(args.joined(separator: " ")) exited \(status):\n" + lines.joined(separator: "\n"))
        }
        return lines
    }

    /// Runs a command that must fail; returns what it printed.
    static func runFailing(_ args: [String]) -> (status: Int32, text: String) {
        var lines: [String] = []
        let output = Output(out: { lines.append($0) }, err: { lines.append($0) })
        let status = CommandLineTool.run(args + ["--quiet"], environment: [:], output: output)
        return (status, lines.joined(separator: "\n"))
    }

    // MARK: - The three operations

    /// Layer lists as the command line writes them: `[[1,2,1]]`, `[1,2,1]`.
    static func list(_ v: [[Int]]) -> String { "[" + v.map(list).joined(separator: ",") + "]" }
    static func list(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ",") + "]" }

    static func hfToMM(_ converter: String, hf: String, to mm: String, tp: Int, vitTP: Int? = nil, llm: [[Int]], vit: [[Int]],
                       extra: [String] = []) throws {
        var args = [converter, "hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", mm,
                    "--cfg.parallel_config.tp_size", String(tp),
                    "--cfg.parallel_config.llm_pp_layers", list(llm), "--cfg.parallel_config.vit_pp_layers", list(vit)]
        if let vitTP { args += ["--cfg.parallel_config.vit_tp_size", String(vitTP)] }
        try run(args + extra)
    }

    /// Layer lists are optional for mm_to_hf (read from the files when omitted).
    static func mmToHF(_ converter: String, mm: String, hf original: String, to out: String, tp: Int, vitTP: Int? = nil,
                       llm: [[Int]]? = nil, vit: [[Int]]? = nil, extra: [String] = []) throws {
        var args = [converter, "mm_to_hf", "--cfg.mm_dir", mm, "--cfg.hf_config.hf_dir", original, "--cfg.save_hf_dir", out,
                    "--cfg.parallel_config.tp_size", String(tp)]
        if let vitTP { args += ["--cfg.parallel_config.vit_tp_size", String(vitTP)] }
        if let llm { args += ["--cfg.parallel_config.llm_pp_layers", list(llm)] }
        if let vit { args += ["--cfg.parallel_config.vit_pp_layers", list(vit)] }
        try run(args + extra)
    }

    struct Layout {
        var tp: Int
        var vitTP: Int? = nil
        var llm: [[Int]]
        var vit: [[Int]]
    }

    /// `inferSource`: the source's layer lists are left to be read from the files.
    static func resplit(_ converter: String, from source: String, _ s: Layout, to target: String, _ t: Layout,
                        inferSource: Bool = false, extra: [String] = []) throws {
        var args = [converter, "resplit", "--cfg.source_dir", source, "--cfg.target_dir", target,
                    "--cfg.source_parallel_config.tp_size", String(s.tp)]
        if !inferSource {
            args += ["--cfg.source_parallel_config.llm_pp_layers", list(s.llm), "--cfg.source_parallel_config.vit_pp_layers", list(s.vit)]
        }
        args += ["--cfg.target_parallel_config.tp_size", String(t.tp),
                    "--cfg.target_parallel_config.llm_pp_layers", list(t.llm), "--cfg.target_parallel_config.vit_pp_layers", list(t.vit)]
        if let v = s.vitTP { args += ["--cfg.source_parallel_config.vit_tp_size", String(v)] }
        if let v = t.vitTP { args += ["--cfg.target_parallel_config.vit_tp_size", String(v)] }
        try run(args + extra)
    }

    // MARK: - Describing checkpoints

    /// One tensor as the golden manifests describe it.
    struct Entry: Equatable, CustomStringConvertible {
        var dtype: String
        var shape: [Int]
        var sha256: String
        var bytes: Data? = nil
        var description: String { "\(dtype)\(shape) " + (bytes.map { "\($0.count) bytes" } ?? String(sha256.prefix(12))) }
    }

    static func content(_ t: Tensor) throws -> Data {
        var d = Data(capacity: t.byteCount)
        try t.forEachRun { run in
            switch run {
            case let .bytes(b): d.append(contentsOf: b)
            case let .zeros(n): d.append(contentsOf: [UInt8](repeating: 0, count: n))
            }
        }
        return d
    }

    /// A MindSpeed-MM checkpoint: per rank file (relative path), its top-level keys in order and,
    /// per model entry (`model`, `model0`, ...), its tensors.
    struct MMSummary: Equatable {
        var tracker: String
        var topLevelKeys: [String: [String]] = [:]
        var checkpointVersions: [String: Double] = [:]
        var models: [String: [String: [String: Entry]]] = [:]
    }

    /// Reads every rank file of `dir` with the library's reader: names, dtypes, shapes and the
    /// SHA-256 of every tensor, or (`bytes`, to compare two of our checkpoints; faster in debug
    /// builds) the bytes themselves.
    static func summary(ofMM dir: String, bytes: Bool = false) throws -> MMSummary {
        let tracker = try String(contentsOfFile: dir + "/latest_checkpointed_iteration.txt", encoding: .utf8)
        var s = MMSummary(tracker: tracker)
        let ckpt = try MMCheckpointReader.load(dir)
        for rank in ckpt.ranks {
            let rel = String(rank.path.dropFirst(dir.count + 1))
            guard let top = try TorchCheckpoint.load(rank.path).dictValue else { throw ConverterTestError("\(rel): not a dict") }
            s.topLevelKeys[rel] = top.items.map { $0.key.stringValue ?? "\($0.key)" }
            if case let .float(v)? = top["checkpoint_version"] { s.checkpointVersions[rel] = v }
            let keys = rank.chunks.count == 1 && top["model"] != nil ? ["model"] : (0..<rank.chunks.count).map { "model\($0)" }
            var models: [String: [String: Entry]] = [:]
            for (key, chunk) in zip(keys, rank.chunks) {
                var entries: [String: Entry] = [:]
                for (name, t) in chunk {
                    entries[name] = Entry(dtype: t.dtype.torchName, shape: t.shape, sha256: bytes ? "" : try t.sha256(),
                                          bytes: bytes ? try content(t) : nil)
                }
                models[key] = entries
            }
            s.models[rel] = models
        }
        return s
    }

    /// The same description from a golden `<name>.manifest.json`.
    static func summary(ofManifest path: String) throws -> MMSummary {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any], let files = root["files"] as? [String: Any] else {
            throw ConverterTestError("\(path): not a manifest")
        }
        var s = MMSummary(tracker: "release")
        for (rel, value) in files {
            guard let f = value as? [String: Any], let keys = f["top_level_keys"] as? [String] else { continue }
            s.topLevelKeys[rel] = keys
            // The value the reference wrote (3.0, §2.2.2; the video converters write none without VPP).
            if let v = f["checkpoint_version"] as? [String: Any], let value = v["value"] as? Double { s.checkpointVersions[rel] = value }
            var models: [String: [String: Entry]] = [:]
            for key in keys where key.hasPrefix("model") {
                guard let tensors = f[key] as? [String: [String: Any]] else { throw ConverterTestError("\(rel): no \(key)") }
                models[key] = try tensors.mapValues { t in
                    guard let dtype = t["dtype"] as? String, let shape = t["shape"] as? [Int], let sha = t["sha256"] as? String else {
                        throw ConverterTestError("\(rel): malformed tensor entry")
                    }
                    return Entry(dtype: dtype, shape: shape, sha256: sha)
                }
            }
            s.models[rel] = models
        }
        return s
    }

    /// Asserts two MM descriptions are equal, reporting the first differences precisely.
    static func assertEqual(_ got: MMSummary, _ expected: MMSummary, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.tracker, expected.tracker, "\(context): tracker", file: file, line: line)
        XCTAssertEqual(got.topLevelKeys.keys.sorted(), expected.topLevelKeys.keys.sorted(), "\(context): rank files", file: file, line: line)
        for (rel, keys) in expected.topLevelKeys.sorted(by: { $0.key < $1.key }) {
            guard let gotKeys = got.topLevelKeys[rel] else { continue }
            XCTAssertEqual(gotKeys, keys, "\(context): \(rel) top-level keys", file: file, line: line)
            XCTAssertEqual(got.checkpointVersions[rel], expected.checkpointVersions[rel], "\(context): \(rel) checkpoint_version", file: file, line: line)
            for (key, tensors) in expected.models[rel] ?? [:] {
                let mine = got.models[rel]?[key] ?? [:]
                let missing = Set(tensors.keys).subtracting(mine.keys).sorted(), extra = Set(mine.keys).subtracting(tensors.keys).sorted()
                XCTAssert(missing.isEmpty && extra.isEmpty, "\(context): \(rel) \(key): missing \(missing), unexpected \(extra)", file: file, line: line)
                for (name, e) in tensors.sorted(by: { $0.key < $1.key }) {
                    if let m = mine[name], m != e { XCTFail("\(context): \(rel) \(key) \(name): \(m), expected \(e)", file: file, line: line) }
                }
            }
        }
    }

    /// Every file under `a` and `b` (relative paths), compared byte for byte.
    static func assertSameFiles(_ a: String, _ b: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fa = try files(a), fb = try files(b)
        XCTAssertEqual(fa, fb, "\(context): file lists", file: file, line: line)
        for rel in fa where fb.contains(rel) {
            let da = try Data(contentsOf: URL(fileURLWithPath: a + "/" + rel)), db = try Data(contentsOf: URL(fileURLWithPath: b + "/" + rel))
            XCTAssert(da == db, "\(context): \(rel) differs (\(da.count) vs \(db.count) bytes)", file: file, line: line)
        }
    }

    static func files(_ dir: String) throws -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { throw ConverterTestError("cannot list \(dir)") }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue { out.append(rel) }
        }
        return out.sorted()
    }

    // MARK: - Temporary directories and samples

    /// A fresh directory path (not created) under one temporary root per test.
    final class Scratch {
        let root: String
        private var n = 0
        init() {
            root = Converters.temporaryRoot + "/mmconv-\(UUID().uuidString)"
            try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }
        func path(_ label: String) -> String {
            n += 1
            return root + "/\(n)-\(label)"
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    /// `mm-convert sample FAMILY DIR` output, written once per process.
    static func sample(_ family: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let dir = samples[family] { return dir }
        let dir = sampleRoot + "/" + family
        if !FileManager.default.fileExists(atPath: dir) { try run(["sample", family, dir]) }
        samples[family] = dir
        return dir
    }

    /// A tiny sample of `family` with tied embeddings (InternVL2.5-1B / 4B style: no lm_head / output
    /// weight), written as `mm-convert sample` writes samples.
    static func tiedSample(_ family: SampleFamily, in scratch: Scratch) throws -> String {
        try customSample(family, in: scratch) { $0.llm.tied = true }
    }

    /// A tiny sample of `family` with changed dimensions, written as `mm-convert sample` does.
    static func customSample(_ family: SampleFamily, in scratch: Scratch, _ edit: (inout SampleModel) -> Void) throws -> String {
        var model = try SampleModel.preset(family, size: "tiny")
        edit(&model)
        let gen = SampleGenerator(model: model)
        var side: [String: [UInt8]] = ["config.json": JSONWriter(layout: .indented(2)).encode(gen.config()) + [0x0a]]
        for (name, text) in gen.sideFiles() { side[name] = Array(text.utf8) }
        let dir = scratch.path("custom-" + family.rawValue)
        _ = try HFCheckpoint.save(try gen.tensors(), to: dir, maxShardBytes: model.maxShardBytes, sideFiles: side)
        return dir
    }

    /// An InternViT-6B style variant of the tiny InternVL sample: RMSNorm (no norm biases), no qkv
    /// bias, q_norm / k_norm over the full width.
    static func internViT6BSample(in scratch: Scratch) throws -> String {
        let model = try SampleModel.preset(.internvl, size: "tiny")
        let gen = SampleGenerator(model: model)
        var tensors = try gen.tensors()
        tensors.remove(names: Set(tensors.names.filter {
            $0.hasPrefix("vision_model.encoder.layers.") && ($0.hasSuffix("attn.qkv.bias") || $0.hasSuffix("norm1.bias") || $0.hasSuffix("norm2.bias"))
        }))
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 16, seed: 7)
        for l in 0..<model.vit.depth {
            for n in ["q_norm", "k_norm"] {
                let name = "vision_model.encoder.layers.\(l).attn.\(n).weight"
                tensors[name] = try pool.tensor(name, [model.vit.width])
            }
        }
        var side: [String: [UInt8]] = ["config.json": JSONWriter(layout: .indented(2)).encode(gen.config()) + [0x0a]]
        for (name, text) in gen.sideFiles() { side[name] = Array(text.utf8) }
        let dir = scratch.path("internvit-6b")
        _ = try HFCheckpoint.save(tensors, to: dir, maxShardBytes: model.maxShardBytes, sideFiles: side)
        return dir
    }

    /// Deletes the samples (call from a test class's `tearDown()`).
    static func removeSamples() {
        lock.lock()
        defer { lock.unlock() }
        samples = [:]
        try? FileManager.default.removeItem(atPath: sampleRoot)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var samples: [String: String] = [:]
    private static let sampleRoot = temporaryRoot + "/mmconv-samples-\(getpid())"

    /// A memory file system when there is one: the writers sync every file they complete, which
    /// costs more than the conversion itself on a disk.
    static let temporaryRoot: String = {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDir), isDir.boolValue,
           FileManager.default.isWritableFile(atPath: "/dev/shm") { return "/dev/shm" }
        return FileManager.default.temporaryDirectory.path
    }()
}

struct ConverterTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
