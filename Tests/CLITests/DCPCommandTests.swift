import Foundation
import XCTest
@testable import CLI
import Ops

/// `inspect`, `verify` and `convert` on torch Distributed Checkpoints (DCP).
final class DCPCommandTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory("dcp-cli") }
    override func tearDownWithError() throws { dir.remove() }

    func fixture(_ name: String) -> String { InspectFixtures.fixture("dcp/" + name) }

    /// The table of a sharded training root: facts, the bytes value, every tensor with its chunks.
    func testInspectShardedRoot() throws {
        let run = CLIRun(["inspect", fixture("torch_sharded")])
        XCTAssertEqual(run.status, 0, run.errText)
        XCTAssertEqual(run.out, [
            "DCP checkpoint: \(fixture("torch_sharded"))",
            "  iteration: iter_0000010",
            "  version: 1.0.0",
            "  data files: 9",
            "  items: 11",
            "  entries: tensors 6, bytes 1",
            "  chunked tensors: 4",
            "  most chunks: 2",
            "  saved as: torch_sharded/iter_0000010",
            "non-tensor entries:",
            "  checkpoint_version: 3.0",
            "",
            "  name                dtype     shape    bytes",
            "  model.embed.weight  bfloat16  [5, 4]      40  2 chunks: dim 0 3+2",
            "  model.norm.weight   float32   [6]         24  2 chunks: dim 0 3+3",
            "  model.one_row       int64     [1, 12]     96  2 chunks: dim 0 1+0",
            "  model.col_split     float32   [2, 4]      32  2 chunks: dim 1 2+2",
            "  model.replicated    float32   [3]         12",
            "  model.plain         float32   [2]          8",
            "",
            "total: 6 tensors, 212 bytes, 51 parameters",
        ])
    }

    /// Groups per top-level key, values of every kind, JSON with chunk boxes, and the filter.
    func testInspectObjectsJSONAndFilter() throws {
        let run = CLIRun(["inspect", fixture("torch_objects")])
        XCTAssertEqual(run.status, 0, run.errText)
        for line in ["  big_int: 1180591620717411303424", "  unicode: größe ✓", "  optimizer.param_groups.0.params: [\"w\"]",
                     "  raw_bytes: <bytes, 5 bytes>", "model", "optimizer", "tensor_list"] {
            XCTAssertTrue(run.out.contains(line), "missing \(line):\n\(run.outText)")
        }
        let json = CLIRun(["inspect", fixture("torch_sharded"), "--json", "--filter", "embed"])
        XCTAssertEqual(json.status, 0, json.errText)
        let v = try JSONReader.parse(json.outText)
        XCTAssertEqual(v["kind"], .string("dcp"))
        guard case let .list(groups)? = v["groups"], case let .list(tensors)? = groups.first?["tensors"] else { return XCTFail(json.outText) }
        XCTAssertEqual(tensors.count, 1)
        XCTAssertEqual(tensors[0]["chunks"], .list([
            .dict([("offsets", .list([.int(0), .int(0)])), ("sizes", .list([.int(3), .int(4)]))]),
            .dict([("offsets", .list([.int(3), .int(0)])), ("sizes", .list([.int(2), .int(4)]))]),
        ]))
    }

    /// DCP -> safetensors -> DCP -> safetensors: the same bytes; the written DCP is a release root
    /// with `model.<name>` FQNs and checkpoint_version; `verify` sees the same tensors chunked
    /// differently as layout differences only.
    func testConvertRoundTripAndVerify() throws {
        let st = dir.path("a.safetensors"), out = dir.path("dcp"), st2 = dir.path("b.safetensors")
        let first = CLIRun(["convert", fixture("torch_sharded"), st])
        XCTAssertEqual(first.status, 0, first.errText)
        XCTAssertEqual(try SafetensorsFile(path: st).entries.map(\.name).sorted(),
                       ["col_split", "embed.weight", "norm.weight", "one_row", "plain", "replicated"])
        let second = CLIRun(["convert", st, out])
        XCTAssertEqual(second.status, 0, second.errText)
        XCTAssertEqual(try String(contentsOfFile: out + "/latest_checkpointed_iteration.txt", encoding: .utf8), "release")
        let c = try DCPCheckpoint.load(out)
        XCTAssertEqual(Set(c.tensorNames), Set(["model.col_split", "model.embed.weight", "model.norm.weight", "model.one_row", "model.plain", "model.replicated"]))
        XCTAssertEqual(c.valueNames, ["checkpoint_version"])
        XCTAssertEqual(c.plannerPath("model.embed.weight"), [.key("model"), .key("embed.weight")])
        XCTAssertEqual(CLIRun(["convert", out, st2]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: st)), try Data(contentsOf: URL(fileURLWithPath: st2)))

        let verify = CLIRun(["verify", out, fixture("torch_sharded")])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.out.contains("  model.embed.weight: stored as 1 chunk vs 2 chunks: dim 0 3+2"), verify.outText)
        XCTAssertTrue(verify.out.contains("different: 5 difference(s) (5 layout); 6 tensors (212 B) compared"), verify.outText)
        let same = CLIRun(["verify", fixture("ref_qwen3vl_moe/dcp"), fixture("ref_qwen3vl_moe/dcp/release")])
        XCTAssertEqual(same.status, 0, same.outText)
        XCTAssertEqual(same.out.last, "identical: 64 tensors (44.8 KiB) compared")
    }

    /// A changed value and a changed tensor byte are reported; a DCP is not compared with a file.
    func testVerifyFindsDifferences() throws {
        let c = try DCPCheckpoint.load(fixture("handmade_minimal"))
        var entries: [DCPWriteEntry] = []
        for e in c.entries {
            var value: DCPWriteEntry.Value = e.tensor == nil ? .bytes(.float(2.0)) : .tensor(try c.tensor(e.fqn))
            if e.fqn == "model.w" { value = .tensor(try Tensor.fromBytes([UInt8](repeating: 0, count: 48), dtype: .f32, shape: [3, 4])) }
            entries.append(DCPWriteEntry(fqn: e.fqn, value: value, path: c.plannerPath(e.fqn)))
        }
        try DCPCheckpoint.save(entries, to: dir.path("changed"))
        let run = CLIRun(["verify", fixture("handmade_minimal"), dir.path("changed")])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.out.contains { $0.hasPrefix("  model.w: ") }, run.outText)
        XCTAssertTrue(run.out.contains { $0.hasPrefix("  checkpoint_version: ") && $0.contains("3.0") }, run.outText)
        XCTAssertTrue(run.out.contains("  model.e: stored as 2 chunks: dim 0 3+2 vs 1 chunk"), run.outText)
        XCTAssertEqual(CLIRun(["convert", fixture("handmade_minimal"), dir.path("a.safetensors")]).status, 0)
        let mixed = CLIRun(["verify", fixture("handmade_minimal"), dir.path("a.safetensors")])
        XCTAssertEqual(mixed.status, 2, mixed.errText)
        XCTAssertTrue(mixed.errText.contains("cannot compare a DCP checkpoint with a safetensors file"), mixed.errText)
    }

    /// `--key` chooses the entries of a DCP and names the FQNs of a written one; refusals.
    func testConvertKeysAndRefusals() throws {
        let st = dir.path("opt.safetensors")
        let run = CLIRun(["convert", fixture("torch_objects"), st, "--key", "optimizer.state"])
        XCTAssertEqual(run.status, 0, run.errText)
        XCTAssertEqual(try SafetensorsFile(path: st).entries.map(\.name).sorted(), ["w.exp_avg", "w.step"])
        let all = CLIRun(["convert", fixture("torch_objects"), dir.path("all.safetensors"), "--key", ""])
        XCTAssertEqual(all.status, 0, all.errText)
        XCTAssertEqual(try SafetensorsFile(path: dir.path("all.safetensors")).entries.count, 6)
        XCTAssertTrue(all.errText.hasPrefix("mm-convert: note: skipped 16 entries that are not tensors: checkpoint_version (pickled value)"), all.errText)
        let missing = CLIRun(["convert", fixture("torch_objects"), dir.path("x.safetensors"), "--key", "nope"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.errText.contains("no entries under 'nope'; top-level keys: model, checkpoint_version, iteration"), missing.errText)
        let prefixed = CLIRun(["convert", st, dir.path("inner"), "--key", "model.inner"])
        XCTAssertEqual(prefixed.status, 0, prefixed.errText)
        let c = try DCPCheckpoint.load(dir.path("inner"))
        XCTAssertEqual(c.plannerPath("model.inner.w.step"), [.key("model"), .key("inner"), .key("w.step")])
        let bad = CLIRun(["convert", st, dir.path("out.weird")])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.errText.contains("or be a directory name without an extension (a DCP checkpoint)"), bad.errText)
        XCTAssertEqual(CLIRun(["convert", st, dir.path("slash") + "/"]).status, 0, "a trailing slash names a DCP directory")
        XCTAssertTrue(DCPLocation.isDCP(dir.path("slash")))
        XCTAssertEqual(CLIRun(["convert", st, dir.path("x.safetensors") + "/"]).status, 2)
        XCTAssertEqual(CLIRun(["convert", st, dir.path("inner")]).status, 1, "an existing output needs --force")
        XCTAssertEqual(CLIRun(["convert", st, dir.path("inner"), "--force"]).status, 0)
    }
}
