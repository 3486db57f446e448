import Foundation
import XCTest
@testable import CLI
import Ops

/// DCP checkpoints we write, loaded by real torch (`Tests/Interop/dcp_load.py`): into an empty
/// state dict (the planner paths rebuild the nesting), into preallocated tensors, and through
/// `dcp_to_torch_save`. Skipped without `$MM_CONVERT_PYTHON`.
final class DCPInteropTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws {
        _ = try InteropPython.python()
        dir = try TemporaryDirectory("dcp-interop")
    }

    override func tearDownWithError() throws { dir?.remove() }

    struct Loaded {
        var torch: String
        var propertiesState: [Int]
        var views: [String: LibraryDescription]
    }

    func load(_ checkpoint: String, fsdp2: Bool = false) throws -> Loaded {
        let text = try InteropPython.script("dcp_load.py", [checkpoint, dir.url.path] + (fsdp2 ? ["--fsdp2"] : []), timeout: 300)
        guard let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw OpsError.invalid("dcp_load.py output is not an object: \(text.prefix(200))")
        }
        var views: [String: LibraryDescription] = [:]
        for k in ["empty", "prealloc", "torch_save", "fsdp2"] where root[k] != nil {
            views[k] = try LibraryDescription.parse(String(decoding: try JSONSerialization.data(withJSONObject: root[k] ?? [:]), as: UTF8.self))
        }
        return Loaded(torch: root["torch"] as? String ?? "?", propertiesState: root["properties_state"] as? [Int] ?? [], views: views)
    }

    /// Every dtype, lazy inputs (transpose, slices, concatenation, cast), 0-d and empty tensors,
    /// values of every kind, nested paths with list indices and dotted keys, two data files, a
    /// MindSpeed-MM release root: torch loads all of it, every way, with our bytes.
    func testOurDCPLoadsInTorch() throws {
        let base = try InspectTensors.tensor(.f32, [4, 6], seed: 3)
        var tensors: [(String, [DCPPathElement], Tensor)] = []
        for d in DType.allCases {
            tensors.append(("model.dtypes.\(d.torchName)", [.key("model"), .key("dtypes.\(d.torchName)")], try InspectTensors.tensor(d, [3, 5], seed: d.size)))
        }
        let lazy: [(String, Tensor)] = [
            ("transposed", try base.transposed()),
            ("column_slice", try base.slice(dim: 1, start: 2, count: 3)),
            ("concat", try Tensor.concat([base.slice(dim: 0, start: 3, count: 1), base.slice(dim: 0, start: 0, count: 2)], dim: 0)),
            ("cast_bf16", try base.cast(to: .bf16)),
            ("scalar", try InspectTensors.tensor(.i64, [])),
            ("empty", Tensor.zeros(.f32, [3, 0])),
        ]
        for (name, t) in lazy { tensors.append(("model.lazy." + name, [.key("model"), .key("lazy." + name)], t)) }
        tensors.append(("optimizer.state.w.exp_avg", [.key("optimizer"), .key("state"), .key("w"), .key("exp_avg")], base))
        var entries: [DCPWriteEntry] = [.checkpointVersion]
        for (i, (fqn, path, t)) in tensors.enumerated() { entries.append(DCPWriteEntry(fqn: fqn, value: .tensor(t), path: path, file: i % 2)) }
        let values: [(String, [DCPPathElement], PickleValue)] = [
            ("optimizer.param_groups.0.lr", [.key("optimizer"), .key("param_groups"), .index(0), .key("lr")], .float(1e-4)),
            ("optimizer.param_groups.0.betas", [.key("optimizer"), .key("param_groups"), .index(0), .key("betas")], .tuple([.float(0.9), .float(0.95)])),
            ("optimizer.param_groups.0.params", [.key("optimizer"), .key("param_groups"), .index(0), .key("params")], .list([.string("w")])),
            ("iteration", [.key("iteration")], .int(1000)),
            ("big", [.key("big")], .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0x40])),
            ("name", [.key("name")], .string("größe ✓")),
            ("nothing", [.key("nothing")], .none),
            ("flag", [.key("flag")], .bool(true)),
        ]
        for (fqn, path, v) in values { entries.append(DCPWriteEntry(fqn: fqn, value: .bytes(v), path: path, file: 1)) }
        let root = dir.path("ours")
        try DCPCheckpoint.save(entries, to: root, layout: .root(.release))

        let loaded = try load(root + "/release")
        XCTAssertEqual(loaded.propertiesState, [5], "torch \(loaded.torch) read the 5-item TensorProperties")
        var ours: [String: LibraryDescription.Entry] = [:]
        for (_, path, t) in tensors {
            let key = path.map(\.description).joined(separator: "/")
            ours[key] = LibraryDescription.Entry(dtype: t.dtype.torchName, shape: t.shape, sha256: try t.sha256())
        }
        for view in ["empty", "prealloc", "torch_save"] {
            let theirs = try XCTUnwrap(loaded.views[view])
            assertSameTensors(ours, theirs.tensors, "\(view) (torch \(loaded.torch))")
        }
        for view in ["empty", "torch_save"] {
            let leaves = try XCTUnwrap(loaded.views[view]).leaves
            XCTAssertEqual(leaves["checkpoint_version"], ["float", "3.0"], view)
            XCTAssertEqual(leaves["optimizer/param_groups/0/lr"], ["float", "0.0001"], view)
            XCTAssertEqual(leaves["optimizer/param_groups/0/betas/1"], ["float", "0.95"], view)
            XCTAssertEqual(leaves["optimizer/param_groups/0/params/0"], ["str", "'w'"], view)
            XCTAssertEqual(leaves["iteration"], ["int", "1000"], view)
            XCTAssertEqual(leaves["big"], ["int", "1180591620717411303424"], view)
            XCTAssertEqual(leaves["name"], ["str", "'größe ✓'"], view)
            XCTAssertEqual(leaves["nothing"], ["NoneType", "None"], view)
            XCTAssertEqual(leaves["flag"], ["bool", "True"], view)
        }
    }

    /// The sharded training fixture converted to a merged release DCP by the CLI: torch loads it
    /// with the same tensors, also as MindSpeed-MM's FSDP2 trainer does (2 processes, Shard(0)
    /// DTensors: each rank reads the rows of its shard out of our one-chunk items).
    func testConvertedCheckpointsLoadInTorch() throws {
        let sharded = InspectFixtures.fixture("dcp/torch_sharded")
        let st = dir.path("s.safetensors"), out = dir.path("merged")
        XCTAssertEqual(CLIRun(["convert", sharded, st]).status, 0)
        XCTAssertEqual(CLIRun(["convert", st, out]).status, 0)
        let original = try DCPCheckpoint.load(sharded)
        var ours: [String: LibraryDescription.Entry] = [:]
        for name in original.tensorNames {
            let t = try original.tensor(name)
            ours[original.plannerPath(name).map(\.description).joined(separator: "/")] = LibraryDescription.Entry(dtype: t.dtype.torchName, shape: t.shape, sha256: try t.sha256())
        }
        let loaded = try load(out + "/release", fsdp2: true)
        for view in ["empty", "prealloc", "torch_save", "fsdp2"] { assertSameTensors(ours, try XCTUnwrap(loaded.views[view]).tensors, view) }
    }

    // MARK: - The converters

    /// Qwen3VLConverter hf_to_dcp: torch loads our output every way (FSDP2 Shard(0) DTensors
    /// included) with exactly the reference's tensors (`ref_qwen3vl_moe.expected.json`).
    func testQwen3VLHFToDCPLoadsInTorchAsTheReference() throws {
        let fixture = InspectFixtures.fixture("dcp/ref_qwen3vl_moe")
        let out = dir.path("dcp")
        XCTAssertEqual(CLIRun(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", fixture + "/hf", "--dcp_dir", out, "--quiet"]).status, 0)
        let expected = try JSONReader.parse(contentsOf: fixture + ".expected.json")
        guard case let .list(entries)? = expected["entries"] else { return XCTFail("no entries") }
        var reference: [String: LibraryDescription.Entry] = [:]
        for e in entries {
            guard case .string("tensor")? = e["kind"], case let .list(path)? = e["planner_path"], case let .string(dtype)? = e["dtype"],
                  case let .list(shape)? = e["shape"], case let .string(sha)? = e["sha256"] else { continue }
            let key = path.map { if case let .string(s) = $0 { return s } else { return "?" } }.joined(separator: "/")
            reference[key] = LibraryDescription.Entry(dtype: dtype, shape: shape.compactMap { if case let .int(i) = $0 { return i } else { return nil } }, sha256: sha)
        }
        XCTAssertEqual(reference.count, 64)
        let loaded = try load(out + "/release", fsdp2: true)
        for view in ["empty", "prealloc", "torch_save", "fsdp2"] {
            assertSameTensors(reference, try XCTUnwrap(loaded.views[view]).tensors, "\(view) (torch \(loaded.torch))")
        }
        XCTAssertEqual(loaded.views["empty"]?.leaves["checkpoint_version"], ["float", "3.0"])
    }

    /// dcp_to_hf of a training checkpoint torch wrote from our DCP: 2 processes, Shard(0) chunks
    /// (uneven, some empty), AdamW state, root with a tracker (tools/make_train_dcp.py). bf16: the original back byte for
    /// byte. Trained in f32: f32 shards with a recomputed total_size (D11), and with --to_bf16
    /// the original again.
    func testTrainingCheckpointBackToHF() throws {
        let fixture = InspectFixtures.fixture("dcp/ref_qwen3vl_moe/hf")
        let dcp = dir.path("dcp")
        XCTAssertEqual(CLIRun(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", fixture, "--dcp_dir", dcp, "--quiet"]).status, 0)
        for cast in [nil, "float32"] {
            let train = dir.path("train-\(cast ?? "bf16")")
            _ = try InteropPython.script("../../tools/make_train_dcp.py", [dcp + "/release", train] + (cast.map { ["--cast", $0] } ?? []), timeout: 300)
            let ckpt = try DCPCheckpoint.load(train)
            XCTAssertTrue(ckpt.entries.contains { $0.fqn.hasPrefix("optimizer.state.") }, "optimizer state written")
            XCTAssertTrue(ckpt.entries.contains { ($0.tensor?.chunks.count ?? 0) > 1 }, "sharded chunks written")
            let back = dir.path("back-\(cast ?? "bf16")")
            let run = CLIRun(["Qwen3VLConverter", "dcp_to_hf", "--load_dir", train, "--save_dir", back, "--model_assets_dir", fixture, "--quiet"])
            XCTAssertEqual(run.status, 0, run.errText)
            let original = try HFCheckpoint.load(fixture), ours = try HFCheckpoint.load(back)
            XCTAssertEqual(ours.tensors.names.sorted(), original.tensors.names.sorted())
            if cast == nil {
                for name in try FileManager.default.contentsOfDirectory(atPath: fixture) {
                    XCTAssertEqual(FileManager.default.contents(atPath: back + "/" + name), FileManager.default.contents(atPath: fixture + "/" + name), name)
                }
            } else {
                XCTAssertTrue(ours.tensors.allSatisfy { $0.tensor.dtype == .f32 })
                XCTAssertEqual(ours.index?.metadata.first { $0.0 == "total_size" }?.1, .int(ours.tensors.totalBytes))
                XCTAssertEqual(ours.tensors.totalBytes, 2 * original.tensors.totalBytes)
                let bf16 = dir.path("back-to-bf16")
                let r = CLIRun(["Qwen3VLConverter", "dcp_to_hf", "--load_dir", train, "--save_dir", bf16, "--model_assets_dir", fixture,
                                "--to_bf16", "true", "--quiet"])
                XCTAssertEqual(r.status, 0, r.errText)
                for name in try FileManager.default.contentsOfDirectory(atPath: fixture) {
                    XCTAssertEqual(FileManager.default.contents(atPath: bf16 + "/" + name), FileManager.default.contents(atPath: fixture + "/" + name), name)
                }
            }
        }
    }
}
