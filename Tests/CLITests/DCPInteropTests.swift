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
}
