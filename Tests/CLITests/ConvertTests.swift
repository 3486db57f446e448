import Foundation
import XCTest
@testable import CLI
import Ops

/// `mm-convert convert`: .pt <-> .safetensors round trips, dict selection, notes and refusals.
final class ConvertTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory("convert") }
    override func tearDownWithError() throws { dir.remove() }

    /// The `model` dict of a training checkpoint goes to safetensors and back to a plain .pt
    /// dict with the same names, order, dtypes, shapes and bytes; `_extra_state` entries are noted.
    func testTrainingCheckpointRoundTrip() throws {
        let src = InspectFixtures.fixture("torch/megatron_ckpt.pt")
        let st = dir.path("model.safetensors"), pt = dir.path("back.pt")
        let first = CLIRun(["convert", src, st])
        XCTAssertEqual(first.status, 0, first.errText)
        XCTAssertEqual(first.err.count, 1)
        XCTAssertTrue(first.errText.hasPrefix("mm-convert: note: skipped 9 entries that are not tensors: decoder.layers.0.self_attention.linear_qkv._extra_state (_io.BytesIO), "), first.errText)
        XCTAssertTrue(first.errText.hasSuffix(", output_layer._extra_state (NoneType)"), first.errText)
        XCTAssertEqual(first.out, ["wrote \(st): 14 tensors, 3.1 KiB of tensor data, \(Progress.size(try size(st))) file"])
        let second = CLIRun(["convert", st, pt, "--quiet"])
        XCTAssertEqual(second.status, 0, second.errText)
        XCTAssertEqual(second.out + second.err, [])

        let original = try TorchCheckpoint.load(src)["model"]!.dictValue!
        let expected = original.items.compactMap { item in item.value.tensorValue.map { (item.key.stringValue!, $0.tensor) } }
        XCTAssertEqual(expected.count, 14)
        let file = try SafetensorsFile(path: st)
        XCTAssertEqual(file.metadata?.map { "\($0.0)=\($0.1)" }, ["format=pt"])
        let viaST = try file.tensors()
        let back = try TorchCheckpoint.load(pt, verifyCRC: true)
        guard case let .dict(root) = back else { return XCTFail("expected a plain dict, got \(back.typeName)") }
        XCTAssertEqual(Set(root.stringKeys), Set(expected.map(\.0)))
        XCTAssertEqual(root.stringKeys, file.entries.map(\.name), "the .pt keeps the safetensors order (sorted as the library writes)")
        for (name, t) in expected {
            for (label, got) in [("safetensors", viaST[name]), ("pt", root[name]?.tensorValue?.tensor)] {
                let g = try XCTUnwrap(got, "\(label): \(name)")
                XCTAssertEqual(g.dtype, t.dtype, name)
                XCTAssertEqual(g.shape, t.shape, name)
                XCTAssertEqual(try g.sha256(), try t.sha256(), "\(label): \(name)")
            }
        }
        // The torch archive is named after DST, not after the temporary file.
        let archive = try ZipArchive(store: ByteStore(mapping: pt))
        XCTAssertTrue(archive.entries.allSatisfy { $0.name.hasPrefix("back/") }, archive.entries.map(\.name).description)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted(), ["back.pt", "model.safetensors"], "no temporary files left")
    }

    /// Views of one storage (slices, transposes) become separate contiguous tensors.
    func testSharedStoragesBecomeSeparateTensors() throws {
        let src = InspectFixtures.fixture("torch/views.pt")
        let st = dir.path("views.safetensors")
        let run = CLIRun(["convert", src, st])
        XCTAssertEqual(run.status, 0, run.errText)
        let root = try TorchCheckpoint.load(src)
        let written = try SafetensorsFile(path: st)
        let tensors = try written.tensors()
        for (k, v) in root.dictValue!.items {
            guard let t = v.tensorValue else { continue }
            let name = k.stringValue!
            XCTAssertEqual(tensors[name]?.shape, t.shape, name)
            XCTAssertEqual(try tensors[name]?.sha256(), try t.tensor.sha256(), name)
        }
        XCTAssertEqual(written.entries.reduce(0) { $0 + $1.end - $1.begin }, tensors.totalBytes, "each tensor stored once, compactly")
        XCTAssertEqual(run.errText, "mm-convert: note: skipped 1 entry that is not tensors: chunks (list holding 2 tensors)", "the list of chunks is noted as skipped: \(run.errText)")
    }

    func testKeySelectionAndErrors() throws {
        // A VPP rank file has model0 / model1 and no 'model': the error lists them.
        let vpp = InspectFixtures.fixture("golden/qwen2vl_tp1_vpp2/release/mp_rank_00_000/model_optim_rng.pt")
        let noKey = CLIRun(["convert", vpp, dir.path("a.safetensors")])
        XCTAssertEqual(noKey.status, 1)
        XCTAssertEqual(noKey.errText, "mm-convert: error: \(vpp): the saved object (dict) is not a dict of tensors and has no 'model' dict; choose one with --key: dicts of tensors in it: model0 (39 tensors), model1 (7 tensors)")
        let wrong = CLIRun(["convert", vpp, dir.path("a.safetensors"), "--key", "model2"])
        XCTAssertEqual(wrong.errText, "mm-convert: error: \(vpp): no entry 'model2'; dicts of tensors in it: model0 (39 tensors), model1 (7 tensors)")
        let scalar = CLIRun(["convert", vpp, dir.path("a.safetensors"), "--key", "checkpoint_version"])
        XCTAssertEqual(scalar.errText, "mm-convert: error: \(vpp): 'checkpoint_version' is a float, not a dict of tensors; dicts of tensors in it: model0 (39 tensors), model1 (7 tensors)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("a.safetensors")))
        let ok = CLIRun(["convert", vpp, dir.path("a.safetensors"), "--key", "model1"])
        XCTAssertEqual(ok.status, 0, ok.errText)
        XCTAssertEqual(try SafetensorsFile(path: dir.path("a.safetensors")).entries.count, 7)

        // Dotted paths reach nested dicts (optimizer state of a training checkpoint).
        let mega = InspectFixtures.fixture("torch/megatron_ckpt.pt")
        let root = try TorchCheckpoint.load(mega)
        let sel = try StateDictSelection.select(root, key: "optimizer.state.1", path: mega)
        XCTAssertEqual(sel.tensors.names, ["step", "exp_avg", "exp_avg_sq"])
        XCTAssertEqual(StateDictSelection.candidates(root).map(\.key), ["model", "optimizer.state.0", "optimizer.state.1", "optimizer.state.2", "rng_state.0",
                                                                     "rng_state.0.rng_tracker_states"])
        XCTAssertNotNil(StateDictSelection.resolve(.dict(PickleDict(strings: [("a.b", .int(1))])), "a.b"), "keys containing dots")
    }

    func testSafetensorsToTorchNestedUnderKey() throws {
        let src = InspectFixtures.fixture("hf/qwen2vl/model-00002-of-00002.safetensors")
        let pt = dir.path("nested.pt")
        XCTAssertEqual(CLIRun(["convert", src, pt, "--key", "model"]).status, 0)
        let root = try TorchCheckpoint.load(pt)
        XCTAssertEqual(root.dictValue?.stringKeys, ["model"])
        let model = try XCTUnwrap(root["model"]?.dictValue)
        let original = try SafetensorsFile(path: src).tensors()
        XCTAssertEqual(model.stringKeys, original.names)
        for (name, t) in original { XCTAssertEqual(try model[name]?.tensorValue?.tensor.sha256(), try t.sha256(), name) }
        // ... and `--key model` reads it back.
        XCTAssertEqual(CLIRun(["convert", pt, dir.path("again.safetensors"), "--key", "model"]).status, 0)
        XCTAssertEqual(try SafetensorsFile(path: dir.path("again.safetensors")).entries, try SafetensorsFile(path: src).entries)
    }

    func testRefusesExistingDestinationUnlessForced() throws {
        let src = InspectFixtures.fixture("torch/dtypes.pt")
        let dst = dir.path("out.safetensors")
        _ = FileManager.default.createFile(atPath: dst, contents: Data("old".utf8))
        let refused = CLIRun(["convert", src, dst])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.errText, "mm-convert: error: \(dst): exists; choose another output path or pass --force to replace it")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dst)), Data("old".utf8))
        let forced = CLIRun(["convert", src, dst, "--force"])
        XCTAssertEqual(forced.status, 0, forced.errText)
        XCTAssertEqual(try SafetensorsFile(path: dst).entries.count, 15)
        XCTAssertEqual(forced.err, [], "a plain state dict has nothing to skip")
    }

    func testUsageErrors() throws {
        let src = InspectFixtures.fixture("torch/dtypes.pt")
        let badExt = CLIRun(["convert", src, dir.path("out.npz")])
        XCTAssertEqual(badExt.status, 2)
        XCTAssertTrue(badExt.errText.contains("DST must end in .safetensors or .pt"), badExt.errText)
        XCTAssertEqual(CLIRun(["convert", src]).status, 2)
        let st = InspectFixtures.fixture("hf/qwen2vl/model-00002-of-00002.safetensors")
        XCTAssertEqual(CLIRun(["convert", st, dir.path("copy.safetensors"), "--key", "model"]).status, 2)
        let directory = CLIRun(["convert", InspectFixtures.fixture("hf/qwen2vl"), dir.path("x.pt")])
        XCTAssertEqual(directory.status, 2)
        XCTAssertTrue(directory.errText.contains("convert works on single files"), directory.errText)
        let missing = CLIRun(["convert", dir.path("none.pt"), dir.path("x.safetensors")])
        XCTAssertEqual(missing.errText, "mm-convert: error: \(dir.path("none.pt")): no such file or directory")
        let intoDir = CLIRun(["convert", src, dir.url.path + "/sub.safetensors/"])
        XCTAssertEqual(intoDir.status, 2, intoDir.errText)
    }

    func size(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    }
}
