import Foundation
import XCTest
@testable import CLI
import Ops

/// Interop with the real libraries (torch, safetensors) through Python: files we write load in
/// torch (`weights_only=True`, with and without `mmap`) and safetensors exactly as we wrote them;
/// files they write are read by us exactly. Skipped without `$MM_CONVERT_PYTHON`.
final class InteropTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws {
        _ = try InteropPython.python()
        dir = try TemporaryDirectory("interop")
    }

    override func tearDownWithError() throws { dir?.remove() }

    // MARK: - (a) files we write, read by torch

    /// Every dtype, lazy expressions (slices, transposes, casts, chunks, concat, reshape, zeros),
    /// nested dicts, lists, tuples, int keys, a Parameter and non-tensor values.
    func testOurTorchFilesLoadInTorch() throws {
        let base = try InspectTensors.tensor(.f32, [4, 6], seed: 3)
        var dtypes = PickleDict()
        for d in DType.allCases {
            dtypes[d.torchName] = .tensor(TorchTensor(try InspectTensors.tensor(d, [3, 5], seed: d.size)))
        }
        let lazy = PickleDict(strings: [
            ("slice", .tensor(TorchTensor(try base.slice(dim: 0, start: 1, count: 2)))),
            ("column_slice", .tensor(TorchTensor(try base.slice(dim: 1, start: 2, count: 3)))),
            ("transposed", .tensor(TorchTensor(try base.transposed()))),
            ("cast_bf16", .tensor(TorchTensor(try base.cast(to: .bf16)))),
            ("cast_f16_of_transpose", .tensor(TorchTensor(try base.transposed().cast(to: .f16)))),
            ("chunk1", .tensor(TorchTensor(try base.chunk(2, dim: 1)[1]))),
            ("concat", .tensor(TorchTensor(try Tensor.concat([base.slice(dim: 0, start: 3, count: 1), base.slice(dim: 0, start: 0, count: 2)], dim: 0)))),
            ("reshaped", .tensor(TorchTensor(try base.reshaped([2, 12])))),
            ("zeros", .tensor(TorchTensor(Tensor.zeros(.bf16, [2, 3])))),
            ("empty", .tensor(TorchTensor(Tensor.zeros(.f32, [3, 0])))),
            ("scalar", .tensor(TorchTensor(try InspectTensors.tensor(.i64, [])))),
            ("parameter", .tensor(TorchTensor(try InspectTensors.tensor(.f32, [2, 2], seed: 9), requiresGrad: true, isParameter: true))),
        ])
        let root = PickleValue.dict(PickleDict(strings: [
            ("dtypes", .dict(dtypes)),
            ("lazy", .dict(lazy)),
            ("nested", .dict(PickleDict(strings: [("a", .dict(PickleDict(strings: [("b", .dict(PickleDict(strings: [("w", .tensor(TorchTensor(base)))])))])))]))),
            ("list", .list([.tensor(TorchTensor(try InspectTensors.tensor(.u8, [7]))), .int(1), .string("x")])),
            ("tuple", .tuple([.tensor(TorchTensor(try InspectTensors.tensor(.i16, [2, 2]))), .none])),
            ("int_keys", .dict(PickleDict([(.int(0), .tensor(TorchTensor(try InspectTensors.tensor(.f64, [2])))), (.int(7), .float(0.25))]))),
            ("meta", .dict(PickleDict(strings: [("i", .int(3)), ("f", .float(0.5)), ("s", .string("hello")), ("n", .none), ("b", .bool(true))]))),
        ]))
        let path = dir.path("ours.pt")
        try TorchCheckpoint.save(root, to: path)
        let ours = try LibraryDescription.entries(root.tensors().map { ($0.path, $0.tensor.tensor) })
        XCTAssertEqual(ours.count, DType.allCases.count + 12 + 4)
        for (mmap, theirs) in zip([false, true], try LibraryDescription.many([(path, true, false), (path, true, true)])) {
            assertSameTensors(ours, theirs.tensors, "ours.pt (mmap \(mmap))")
            XCTAssertEqual(theirs.leaves["meta/i"], ["int", "3"])
            XCTAssertEqual(theirs.leaves["meta/f"], ["float", "0.5"])
            XCTAssertEqual(theirs.leaves["meta/s"], ["str", "'hello'"])
            XCTAssertEqual(theirs.leaves["meta/n"], ["NoneType", "None"])
            XCTAssertEqual(theirs.leaves["meta/b"], ["bool", "True"])
            XCTAssertEqual(theirs.leaves["int_keys/7"], ["float", "0.25"])
            XCTAssertEqual(theirs.leaves["list/2"], ["str", "'x'"])
            XCTAssertEqual(theirs.leaves["tuple/1"], ["NoneType", "None"])
        }
        // torch sees the Parameter as a Parameter with requires_grad.
        let flags = try InteropPython.code("""
            import sys, torch
            d = torch.load(sys.argv[1], weights_only=True)
            p = d["lazy"]["parameter"]
            print(type(p).__name__, p.requires_grad, d["lazy"]["transposed"].is_contiguous(), type(d["tuple"]).__name__)
            """, [path])
        XCTAssertEqual(flags.trimmingCharacters(in: .whitespacesAndNewlines), "Parameter True True tuple")
    }

    /// MindSpeed-MM rank files we write (TP 2, VPP 2, tensors that are lazy TP splits) load in
    /// torch and hold exactly the chunks we gave.
    func testOurMMRankFilesLoadInTorch() throws {
        let qkv = try InspectTensors.tensor(.bf16, [8, 4], seed: 5)
        let fc = try InspectTensors.tensor(.f32, [4, 6], seed: 6)
        var ranks: [(rank: MMRank, chunks: [TensorMap])] = []
        for tp in 0..<2 {
            let first = TensorMap([("decoder.layers.0.self_attention.linear_qkv.weight", try qkv.chunk(2, dim: 0)[tp]),
                                   ("decoder.layers.0.mlp.linear_fc2.weight", try fc.chunk(2, dim: 1)[tp].cast(to: .bf16))])
            let second = TensorMap([("decoder.final_layernorm.weight", try InspectTensors.tensor(.bf16, [4], seed: 7))])
            ranks.append((MMRank(tp: tp), [first, second]))
        }
        let root = dir.path("mm")
        try MMCheckpointWriter.save(ranks, to: root)
        let files = ranks.map { MMCheckpointWriter.rankFilePath($0.rank, in: root, ppSize: 1, epSize: 1) }
        let described = try LibraryDescription.many(files.flatMap { [($0, true, false), ($0, true, true)] })
        for (i, (rank, chunks)) in ranks.enumerated() {
            var pairs: [(String, Tensor)] = []
            for (v, c) in chunks.enumerated() { pairs += c.map { ("model\(v)/\($0.name)", $0.tensor) } }
            let ours = try LibraryDescription.entries(pairs)
            for mmap in [false, true] {
                let theirs = described[2 * i + (mmap ? 1 : 0)]
                assertSameTensors(ours, theirs.tensors, "\(rank) mmap \(mmap)")
                XCTAssertEqual(theirs.leaves["checkpoint_version"], ["float", "3.0"])
            }
        }
        XCTAssertEqual(try String(contentsOfFile: root + "/latest_checkpointed_iteration.txt"), "release")
    }

    /// Tensors of the dtypes torch pickles untyped (float8, uint16/32/64) we write load in torch
    /// (weights_only, with and without mmap) unchanged, and torch re-saving what it loaded gives
    /// our file byte for byte (so we write `_rebuild_tensor_v3` + `UntypedStorage` exactly as
    /// torch does, next to typed bf16 storages).
    func testFloat8TorchFilesLoadInTorch() throws {
        let base = try InspectTensors.tensor(.f32, [4, 6], seed: 6)
        let root = PickleValue.dict(PickleDict(strings: [
            ("e4m3", .tensor(TorchTensor(try InspectTensors.tensor(.f8e4m3, [3, 5], seed: 4)))),
            ("e5m2", .tensor(TorchTensor(try InspectTensors.tensor(.f8e5m2, [2, 2], seed: 5)))),
            ("bf16", .tensor(TorchTensor(try base.cast(to: .bf16)))),
            ("u16", .tensor(TorchTensor(try InspectTensors.tensor(.u16, [2, 3], seed: 7)))),
            ("u32", .tensor(TorchTensor(try InspectTensors.tensor(.u32, [5], seed: 8)))),
            ("u64", .tensor(TorchTensor(try InspectTensors.tensor(.u64, [2, 1], seed: 9)))),
            ("e4m3_param", .tensor(TorchTensor(try InspectTensors.tensor(.f8e4m3, [2, 2], seed: 10), isParameter: true))),
            ("e4m3_transposed", .tensor(TorchTensor(try InspectTensors.tensor(.f8e4m3, [2, 3], seed: 11).transposed()))),
            ("u16_empty", .tensor(TorchTensor(Tensor.zeros(.u16, [0, 3])))),
        ]))
        let path = dir.path("f8.pt")
        try TorchCheckpoint.save(root, to: path)
        let ours = try LibraryDescription.entries(root.tensors().map { ($0.path, $0.tensor.tensor) })
        let described = try LibraryDescription.many([(path, true, false), (path, true, true)])
        for (mmap, theirs) in zip([false, true], described) { assertSameTensors(ours, theirs.tensors, "f8.pt (mmap \(mmap))") }
        try FileManager.default.createDirectory(atPath: dir.path("resaved"), withIntermediateDirectories: true)
        let resaved = dir.path("resaved/f8.pt")
        _ = try InteropPython.code("""
            import sys, torch
            torch.save(torch.load(sys.argv[1], weights_only=True), sys.argv[2])
            """, [path, resaved])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: resaved)),
                       "torch re-saving our f8.pt gives other bytes")
        // And we read our own file back exactly.
        let back = try TorchCheckpoint.load(path, verifyCRC: true)
        assertSameTensors(try LibraryDescription.entries(back.tensors().map { ($0.path, $0.tensor.tensor) }), ours, "f8.pt read back")
    }

    // MARK: - (b) files torch writes, read by us

    /// make_files.py's outputs (all dtypes, views and shared storages, a Megatron-style training
    /// checkpoint, a safetensors file) read by us give every tensor path, dtype, shape and sha256
    /// that torch reports, and the same scalar leaves.
    func testTorchWrittenFilesReadExactly() throws {
        let files = try LibraryFiles.directory()
        for name in ["dtypes.pt", "views.pt", "megatron.pt"] {
            let theirs = try LibraryDescription.parse(String(contentsOfFile: files + "/\(name).json"))
            let value = try TorchCheckpoint.load(files + "/" + name, verifyCRC: true)
            let ours = try LibraryDescription.entries(value.tensors().map { ($0.path, $0.tensor.tensor) })
            XCTAssertFalse(ours.isEmpty, name)
            assertSameTensors(ours, theirs.tensors, name)
            let checked = try compareLeaves(value, theirs.leaves, name)
            if name == "megatron.pt" { XCTAssertGreaterThan(checked, 15, "scalar leaves compared") }
        }
        let st = try LibraryDescription.parse(String(contentsOfFile: files + "/dtypes.safetensors.json"))
        let file = try SafetensorsFile(path: files + "/dtypes.safetensors")
        XCTAssertEqual(file.metadata?.map { "\($0.0)=\($0.1)" }, ["format=pt"])
        assertSameTensors(try LibraryDescription.entries(file.tensors().map { ($0.name, $0.tensor) }), st.tensors, "dtypes.safetensors")

        // And inspect summarizes the training checkpoint torch wrote.
        let summary = try CheckpointSummary.load(files + "/megatron.pt")
        XCTAssertEqual(summary.groups.map(\.title), ["model", "optimizer", "rng_state"])
        XCTAssertEqual(summary.groups[0].skipped, [SkippedEntry(name: "decoder.layers.0.self_attention.linear_qkv._extra_state", type: "NoneType"),
                                                   SkippedEntry(name: "decoder.layers.0.mlp.linear_fc1._extra_state", type: "_io.BytesIO")])
        XCTAssertEqual(summary.entries.first { $0.0 == "iteration" }?.1, .int(1000))
        XCTAssertEqual(summary.entries.first { $0.0 == "args" }?.1["params_dtype"], .string("torch.bfloat16"))
    }

    /// Tensors torch writes with `_rebuild_tensor_v3` and an `UntypedStorage` (float8,
    /// uint16/32/64, views into a shared untyped storage, a Parameter) read exactly, and our
    /// re-save of what we read is byte-identical to torch's file.
    func testTorchUntypedStorageFilesReadExactly() throws {
        let path = dir.path("untyped.pt")
        _ = try InteropPython.code("""
            import sys, torch
            x = torch.linspace(-4, 4, 12).reshape(3, 4)
            u = torch.arange(20, dtype=torch.int64).to(torch.uint16).reshape(4, 5) * 3000
            f = x.to(torch.float8_e5m2)
            torch.save({"e4m3": x.to(torch.float8_e4m3fn), "e5m2": f.t(), "e5m2_base": f,
                        "u16": u, "u16_rows": u[1:3], "u16_col": u[:, 2],
                        "u32": torch.tensor([0, 1, 2**32 - 1], dtype=torch.uint32),
                        "u64": torch.tensor([0, 2**63 + 5], dtype=torch.uint64),
                        "bf16": x.to(torch.bfloat16),
                        "param": torch.nn.Parameter(x.to(torch.float8_e5m2), requires_grad=False)}, sys.argv[1])
            """, [path])
        let theirs = try LibraryDescription.of(path, weightsOnly: true)
        let value = try TorchCheckpoint.load(path, verifyCRC: true)
        assertSameTensors(try LibraryDescription.entries(value.tensors().map { ($0.path, $0.tensor.tensor) }), theirs.tensors, "untyped.pt")
        XCTAssertEqual(theirs.tensors.count, 10)
        XCTAssertEqual(value["e5m2"]?.tensorValue?.stride, [1, 4])
        // Views keep sharing the one untyped storage, in elements of their dtype (a tensor viewed
        // once is written compact, as always; here every view shares its storage, so our re-save
        // must be torch's file).
        let rows = try XCTUnwrap(value["u16_rows"]?.tensorValue), col = try XCTUnwrap(value["u16_col"]?.tensorValue)
        XCTAssertTrue(rows.storage === value["u16"]?.tensorValue?.storage)
        XCTAssertEqual(rows.storage?.isUntyped, true)
        XCTAssertEqual(rows.storage?.numel, 40)
        XCTAssertEqual([rows.storageOffset, col.storageOffset], [5, 2])
        XCTAssertEqual(col.stride, [5])
        XCTAssertEqual(value["param"]?.tensorValue?.isParameter, true)
        let resaved = dir.path("resaved/untyped.pt")
        try FileManager.default.createDirectory(atPath: dir.path("resaved"), withIntermediateDirectories: true)
        try TorchCheckpoint.save(value, to: resaved)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: resaved)),
                       "our re-save of torch's untyped.pt differs from it")
    }

    // MARK: - (c) safetensors both ways, and convert

    /// Our safetensors writer's output (every dtype, lazy expressions) loads in
    /// safetensors.torch.load_file with the same tensors.
    func testOurSafetensorsLoadInLibrary() throws {
        let base = try InspectTensors.tensor(.f32, [4, 6], seed: 2)
        var map = TensorMap()
        for d in DType.allCases { map[d.torchName] = try InspectTensors.tensor(d, [2, 3], seed: d.size + 1) }
        map["lazy.transposed"] = try base.transposed()
        map["lazy.slice"] = try base.slice(dim: 1, start: 1, count: 4)
        map["lazy.cast"] = try base.cast(to: .bf16)
        map["lazy.concat"] = try Tensor.concat(base.chunk(2, dim: 0).reversed(), dim: 0)
        map["empty"] = Tensor.zeros(.f16, [0, 4])
        map["scalar"] = try InspectTensors.tensor(.f64, [])
        let path = dir.path("ours.safetensors")
        try SafetensorsWriter.write(map, metadata: [("format", "pt")], to: path)
        let theirs = try LibraryDescription.of(path)
        assertSameTensors(try LibraryDescription.entries(map.map { ($0.name, $0.tensor) }), theirs.tensors, "ours.safetensors")
        let meta = try InteropPython.code("""
            import sys
            from safetensors import safe_open
            with safe_open(sys.argv[1], "pt") as f: print(f.metadata())
            """, [path])
        XCTAssertEqual(meta.trimmingCharacters(in: .whitespacesAndNewlines), "{'format': 'pt'}")
    }

    /// `convert` pt -> safetensors -> pt on torch-written files: the library reads every
    /// intermediate and final file with the tensors of the source's model dict.
    func testConvertRoundTripThroughLibraries() throws {
        let files = try LibraryFiles.directory()
        let source = try LibraryDescription.parse(String(contentsOfFile: files + "/megatron.pt.json"))
        var model: [String: LibraryDescription.Entry] = [:]
        for (path, e) in source.tensors where path.hasPrefix("model/") { model[String(path.dropFirst("model/".count))] = e }
        XCTAssertEqual(model.count, 2)
        let st = dir.path("model.safetensors"), pt = dir.path("model.pt")
        let first = CLIRun(["convert", files + "/megatron.pt", st])
        XCTAssertEqual(first.status, 0, first.errText)
        XCTAssertEqual(first.err, ["mm-convert: note: skipped 2 entries that are not tensors: decoder.layers.0.self_attention.linear_qkv._extra_state (NoneType), decoder.layers.0.mlp.linear_fc1._extra_state (_io.BytesIO)"])
        XCTAssertEqual(CLIRun(["convert", st, pt]).status, 0)
        // Views of shared storages come out as separate tensors with the viewed elements.
        let views = try LibraryDescription.parse(String(contentsOfFile: files + "/views.pt.json"))
        let vst = dir.path("views.safetensors")
        XCTAssertEqual(CLIRun(["convert", files + "/views.pt", vst]).status, 0)
        // The library's own safetensors file converts to a .pt torch reads identically.
        let dpt = dir.path("dtypes.pt")
        XCTAssertEqual(CLIRun(["convert", files + "/dtypes.safetensors", dpt]).status, 0)
        let dst = try LibraryDescription.parse(String(contentsOfFile: files + "/dtypes.safetensors.json"))

        let d = try LibraryDescription.many([(st, false, false), (pt, true, false), (pt, true, true), (vst, false, false), (dpt, true, true)])
        assertSameTensors(d[0].tensors, model, "safetensors from convert")
        assertSameTensors(d[1].tensors, model, "pt from convert")
        assertSameTensors(d[2].tensors, model, "pt from convert (mmap)")
        assertSameTensors(d[3].tensors, views.tensors.filter { !$0.key.contains("/") }, "views.safetensors")
        assertSameTensors(d[4].tensors, dst.tensors, "dtypes.pt from convert")
    }

    // MARK: - helpers

    /// Compares every int / float / str / bool / None leaf torch reports with ours at the same
    /// path; returns how many were compared.
    func compareLeaves(_ value: PickleValue, _ leaves: [String: [String]], _ label: String) throws -> Int {
        var ours: [String: PickleValue] = [:]
        func walk(_ v: PickleValue, _ path: String) {
            func join(_ k: String) -> String { path.isEmpty ? k : path + "/" + k }
            switch v {
            case .tensor: return
            case .dict, .orderedDict:
                for (k, x) in v.dictValue!.items { walk(x, join(PickleValue.keyText(k))) }
            case let .list(l), let .tuple(l):
                for (i, x) in l.enumerated() { walk(x, join(String(i))) }
            case let .object(o) where o.attributes != nil:
                for (k, x) in o.attributes!.items { walk(x, join(PickleValue.keyText(k))) }
            default: ours[path] = v
            }
        }
        walk(value, "")
        var checked = 0
        for (path, leaf) in leaves where leaf.count == 2 {
            let (type, repr) = (leaf[0], leaf[1])
            guard ["int", "float", "str", "bool", "NoneType"].contains(type) else { continue }
            guard let mine = ours[path] else { XCTFail("\(label): leaf \(path) (\(type) \(repr)) not found"); continue }
            switch (type, mine) {
            case let ("int", .int(i)): XCTAssertEqual(String(i), repr, "\(label): \(path)")
            case let ("float", .float(d)): XCTAssertEqual(d, Double(repr), "\(label): \(path)")
            case let ("str", .string(s)):
                if !s.contains("'") && !s.contains("\\") && s.allSatisfy({ $0.isASCII }) { XCTAssertEqual("'\(s)'", repr, "\(label): \(path)") }
            case let ("bool", .bool(b)): XCTAssertEqual(b ? "True" : "False", repr, "\(label): \(path)")
            case ("NoneType", .none): break
            default: XCTFail("\(label): leaf \(path): torch has \(type) \(repr), we have \(mine.typeName) \(mine)")
            }
            checked += 1
        }
        return checked
    }
}

/// make_files.py's output, written once per test run (torch's import is the slow part).
enum LibraryFiles {
    static let made: Result<String, Error> = {
        do {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("interop-torch-\(UUID().uuidString)").path
            _ = try InteropPython.script("make_files.py", [dir], timeout: 300)
            atexit { LibraryFiles.cleanup() }
            return .success(dir)
        } catch { return .failure(error) }
    }()

    static func directory() throws -> String { try made.get() }

    static func cleanup() {
        if case let .success(dir) = made { try? FileManager.default.removeItem(atPath: dir) }
    }
}
