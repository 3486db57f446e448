import Foundation
import XCTest
import CLI
import Ops

/// `mm-convert verify`: exit statuses, text / JSON / quiet output, refusals, and `--roundtrip`
/// through a fake converter hook.
final class VerifyCommandTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("verify-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        VerifyCommand.roundtrip = nil
        try? FileManager.default.removeItem(at: tmp)
    }

    static var shared: URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let beside = root.deletingLastPathComponent().appendingPathComponent("shared")
        if FileManager.default.fileExists(atPath: beside.path) { return beside }
        return root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }
    let hf = VerifyCommandTests.shared.appendingPathComponent("fixtures/hf/qwen2vl").path
    let mm = VerifyCommandTests.shared.appendingPathComponent("fixtures/golden/qwen2vl_tp1_pp1").path
    let mm6 = VerifyCommandTests.shared.appendingPathComponent("fixtures/golden/qwen2vl_tp2_pp3").path

    func run(_ args: [String]) -> (status: Int32, out: [String], err: [String]) {
        var out: [String] = [], err: [String] = []
        let status = CommandLineTool.run(["verify"] + args, environment: [:], output: Output(out: { out.append($0) }, err: { err.append($0) }))
        return (status, out, err)
    }

    /// A copy of the HF fixture with one byte of one tensor flipped (written like the source).
    func changedHF() throws -> String {
        let source = try HFCheckpoint.load(hf)
        var tensors = source.tensors
        var bytes = try tensors["model.norm.weight"]!.materialize()
        bytes[0] ^= 0x80
        tensors["model.norm.weight"] = try .fromBytes(bytes, dtype: .bf16, shape: [64])
        let dir = tmp.appendingPathComponent("changed").path
        try HFCheckpoint.save(tensors, to: dir, like: source)
        return dir
    }

    func testIdenticalCheckpointsExitZero() throws {
        let r = run([hf, hf])
        XCTAssertEqual(r.status, 0, "\(r.err)")
        XCTAssertEqual(r.out.last, "identical: 82 tensors (653.8 KiB) and 5 files compared")
        XCTAssertTrue(r.err.isEmpty)
        XCTAssertEqual(run([mm, mm, "--quiet"]).status, 0)
        XCTAssertEqual(run([mm, mm, "--quiet"]).out, [])
    }

    func testDifferencesExitOneWithAReport() throws {
        let changed = try changedHF()
        let r = run([hf, changed])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(Array(r.out.dropFirst(2)), [
            "bytes differ (1):",
            "  model.norm.weight: 1 of 64 elements differ, first at [0] (\(hexOfFirst(hf)) vs \(hexOfFirst(changed)))",
            "different: 1 difference(s) (1 bytes); 82 tensors (653.8 KiB) and 5 files compared",
        ])
        XCTAssertEqual(r.err, ["mm-convert: error: the checkpoints differ: 1 difference(s)"])

        let q = run([hf, changed, "--quiet"])
        XCTAssertEqual(q.status, 1)
        XCTAssertEqual(q.out, [])

        let layout = run([mm, mm6, "--limit", "2"])
        XCTAssertEqual(layout.status, 1)
        XCTAssertEqual(Array(layout.out.dropFirst(2)), [
            "layout differs (8):",
            "  parallel sizes: tp 1, pp 1, ep 1, vpp 1 vs tp 2, pp 3, ep 1, vpp 1; only rank files of the same name are compared: resplit one checkpoint to the other's layout to compare all tensors",
            "  mp_rank_00: rank file only in A",
            "  ... and 6 more",
            "different: 8 difference(s) (8 layout); 0 tensors (0 B) compared",
        ])
    }

    func hexOfFirst(_ dir: String) -> String {
        let b = (try? HFCheckpoint.load(dir).tensors["model.norm.weight"]!.materialize()) ?? [0, 0]
        return String(format: "0x%02x%02x", b[1], b[0])
    }

    func testJSONReport() throws {
        let r = run([hf, try changedHF(), "--json"])
        XCTAssertEqual(r.status, 1)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.joined(separator: "\n").utf8)) as? [String: Any]
        XCTAssertEqual(json?["identical"] as? Bool, false)
        XCTAssertEqual(json?["difference_count"] as? Int, 1)
        XCTAssertEqual(json?["tensors_compared"] as? Int, 82)
        let bytes = (json?["differences"] as? [String: Any])?["bytes"] as? [String: Any]
        XCTAssertEqual(bytes?["count"] as? Int, 1)
        XCTAssertEqual(((bytes?["items"] as? [[String: Any]])?.first)?["subject"] as? String, "model.norm.weight")
        let same = run([mm, mm, "--json"])
        XCTAssertEqual(same.status, 0)
        XCTAssertTrue(same.out.joined().contains("\"identical\": true"), "\(same.out)")
    }

    func testUsageErrorsAndRefusalsExitTwo() throws {
        let mixed = run([hf, mm])
        XCTAssertEqual(mixed.status, 2)
        XCTAssertTrue(mixed.err[0].contains("cannot compare a Hugging Face checkpoint with a MindSpeed-MM checkpoint"), "\(mixed.err)")
        XCTAssertTrue(mixed.err[0].contains("Convert one to the other's format first"), "\(mixed.err)")
        XCTAssertEqual(run([hf]).status, 2)
        XCTAssertEqual(run([hf, hf, hf]).status, 2)
        XCTAssertEqual(run([hf, hf, "--limit", "x"]).status, 2)
        let typo = run([hf, hf, "--jsn"])
        XCTAssertEqual(typo.status, 2)
        XCTAssertTrue(typo.err[0].contains("did you mean --json?"), "\(typo.err)")
        XCTAssertEqual(run([hf, hf, "--", "x"]).status, 2)
        XCTAssertEqual(run(["-h"]).status, 0)
        // A missing path is a failure to read (1), named in the message.
        let missing = run([hf, tmp.appendingPathComponent("nope").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err[0].contains("nope: does not exist"), "\(missing.err)")
    }

    func testRoundtripRunsTheHookInAScratchDirectoryAndRemovesIt() throws {
        var calls: [(String, String, String, [String])] = []
        VerifyCommand.roundtrip = { converter, hfDir, scratch, extra in
            calls.append((converter, hfDir, scratch, extra))
            XCTAssertTrue(FileManager.default.fileExists(atPath: scratch))
            let back = scratch + "/hf"
            try FileManager.default.copyItem(atPath: hfDir, toPath: back)
            return back
        }
        let r = run([hf, "--roundtrip", "qwen2vl", "--tmp", tmp.path, "--", "--parallel_config.tp_size", "2"])
        XCTAssertEqual(r.status, 0, "\(r.err)")
        XCTAssertEqual(calls.count, 1)
        XCTAssertEqual(calls[0].0, "qwen2vl")
        XCTAssertEqual(calls[0].1, hf)
        XCTAssertTrue(calls[0].2.hasPrefix(tmp.path + "/.mm-convert-verify-roundtrip.mm-convert-tmp-"), calls[0].2)
        XCTAssertEqual(calls[0].3, ["--parallel_config.tp_size", "2"])
        XCTAssertTrue(r.out[1].hasPrefix("B: round trip through qwen2vl: Hugging Face checkpoint"), r.out[1])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [], "the scratch directory is removed")

        // A converter that changes a tensor fails the round trip.
        let changed = try changedHF()
        VerifyCommand.roundtrip = { _, _, scratch, _ in
            try FileManager.default.copyItem(atPath: changed, toPath: scratch + "/hf")
            return scratch + "/hf"
        }
        let bad = run([hf, "--roundtrip", "qwen2vl", "--tmp", tmp.path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.out.contains { $0.hasPrefix("  model.norm.weight: 1 of 64 elements differ") }, "\(bad.out)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), ["changed"])

        // A failing converter: its error, status 1, scratch removed.
        VerifyCommand.roundtrip = { _, _, _, _ in throw OpsError.invalid("14 heads do not split over tp=4") }
        let failed = run([hf, "--roundtrip", "qwen2vl", "--tmp", tmp.path])
        XCTAssertEqual(failed.status, 1)
        XCTAssertEqual(failed.err, ["mm-convert: error: 14 heads do not split over tp=4"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), ["changed"])
    }

    func testRoundtripRefusals() {
        VerifyCommand.roundtrip = nil
        let none = run([hf, "--roundtrip", "qwen2vl"])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.err[0].contains("--roundtrip is not available"), "\(none.err)")
        VerifyCommand.roundtrip = { _, _, s, _ in s }
        let notHF = run([mm, "--roundtrip", "qwen2vl"])
        XCTAssertEqual(notHF.status, 2)
        XCTAssertTrue(notHF.err[0].contains("needs a Hugging Face checkpoint directory"), "\(notHF.err)")
        XCTAssertEqual(run([hf, hf, "--roundtrip", "qwen2vl"]).status, 2)
    }
}
