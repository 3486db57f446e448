import Foundation
import XCTest
@testable import Ops

/// VACEConverter: the reference's golden (shared/fixtures/sora/vace_roundtrip: original Wan-VACE ->
/// MindSpeed-MM -> one torch file), the diffusers form both ways, and what is refused.
final class VACEConverterTests: XCTestCase {
    static let converter = "VACEConverter"
    static var input: String { WanConverterTests.sora("vace_roundtrip/input") }

    @discardableResult
    static func run(_ op: String, _ source: String, _ target: String, _ extra: [String] = []) throws -> [String] {
        try Converters.run([converter, op, "--cfg.source_path", source, "--cfg.target_path", target] + extra)
    }

    /// name -> dtype, shape, SHA-256 of a flat torch file.
    static func entries(ofPT path: String) throws -> [String: Converters.Entry] {
        let sel = try StateDictSelection.select(try TorchCheckpoint.load(path), key: nil, path: path)
        XCTAssertTrue(sel.skipped.isEmpty)
        var out: [String: Converters.Entry] = [:]
        for (name, t) in sel.tensors { out[name] = Converters.Entry(dtype: t.dtype.torchName, shape: t.shape, sha256: try t.sha256()) }
        return out
    }

    static func entries(ofManifest path: String, file: String) throws -> [String: Converters.Entry] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let entries = ((root["files"] as! [String: Any])[file] as! [String: Any])["entries"] as! [String: [String: Any]]
        return entries.mapValues { Converters.Entry(dtype: $0["dtype"] as! String, shape: $0["shape"] as! [Int], sha256: $0["sha256"] as! String) }
    }

    static func entries(ofHF dir: String) throws -> [String: Converters.Entry] {
        var out: [String: Converters.Entry] = [:]
        for (name, t) in try HFCheckpoint.load(dir).tensors { out[name] = Converters.Entry(dtype: t.dtype.torchName, shape: t.shape, sha256: try t.sha256()) }
        return out
    }

    /// Original names -> diffusers -> MM (`wan_dit.*`, `vace_dit.*`), as the golden; and back to one
    /// torch file holding exactly the input's tensors (the golden `ref_back.pt`), from our output
    /// and from the reference's; the output's parent folder is created (§9 Q25).
    func testOriginalGoldenAndRoundTrip() throws {
        let s = Converters.Scratch()
        let mm = s.path("mm")
        try Self.run("hf_to_mm", Self.input, mm)
        let expected = try Converters.summary(ofManifest: WanConverterTests.sora("vace_roundtrip/ref_out.manifest.json"))
        XCTAssertEqual(expected.models["release/mp_rank_00/model_optim_rng.pt"]?["model"]?.count, 185)
        Converters.assertEqual(try Converters.summary(ofMM: mm), expected, "vace_roundtrip")
        Converters.assertEqual(try Converters.summary(ofMM: WanConverterTests.sora("vace_roundtrip/ref_out")), expected, "vace_roundtrip (fixture)")

        let back = try Self.entries(ofManifest: WanConverterTests.sora("vace_roundtrip/ref_back.pt.manifest.json"), file: "ref_back.pt")
        XCTAssertEqual(back, try Self.entries(ofHF: Self.input), "the golden ref_back.pt holds the input")
        for source in [mm, WanConverterTests.sora("vace_roundtrip/ref_out")] {
            let out = s.path("back") + "/not/yet/there/post_train.pt"
            try Self.run("mm_to_hf", source, out)
            XCTAssertEqual(try Self.entries(ofPT: out), back, "mm_to_hf of \(source)")
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int, 0o640)
        }
    }

    /// The diffusers form: MM -> diffusers-named torch file -> a WanVACETransformer3DModel folder ->
    /// MM gives the same checkpoint as from the original, and back.
    func testDiffusersFormBothWays() throws {
        let s = Converters.Scratch()
        let mm = s.path("mm")
        try Self.run("hf_to_mm", Self.input, mm)
        let pt = s.path("diffusers") + ".pt"
        try Self.run("mm_to_hf_diffusers", mm, pt)
        let names = Set(try Self.entries(ofPT: pt).keys)
        for n in ["vace_blocks.0.proj_in.weight", "vace_blocks.1.proj_out.bias", "vace_blocks.1.attn2.to_out.0.weight", "vace_patch_embedding.weight",
                  "blocks.2.norm2.weight", "blocks.0.scale_shift_table", "condition_embedder.text_embedder.linear_1.weight", "scale_shift_table", "proj_out.weight"] {
            XCTAssertTrue(names.contains(n), n)
        }
        let folder = s.path("diffusers-folder")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Converters.run(["convert", pt, folder + "/diffusion_pytorch_model.safetensors"])
        try Data(#"{"_class_name": "WanVACETransformer3DModel", "num_layers": 4, "vace_layers": [0, 2]}"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/config.json"))
        let mm2 = s.path("mm2")
        try Self.run("hf_diffusers_to_mm", folder, mm2)
        Converters.assertEqual(try Converters.summary(ofMM: mm2, bytes: true), try Converters.summary(ofMM: mm, bytes: true), "diffusers -> MM")
        let pt2 = s.path("again") + ".pt"
        try Self.run("mm_to_hf_diffusers", mm2, pt2)
        XCTAssertEqual(try Self.entries(ofPT: pt2), try Self.entries(ofPT: pt))
        // Each form's converter refuses the other form.
        let r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", folder, "--cfg.target_path", s.path("x")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("hf_diffusers_to_mm"), r.text)
    }

    /// PP (the reference writes every stage empty, §9 Q6), TP, and a Wan folder: refused, nothing written.
    func testRefusals() throws {
        let s = Converters.Scratch()
        for (extra, message) in [(WanConverterTests.pp("[2,2]"), "Wan-VACE converts without pipeline parallelism"),
                                 (WanConverterTests.pp("[[1,1],[1,1]]"), "Wan-VACE converts without pipeline parallelism"),
                                 (["--cfg.target_parallel_config.tp_size", "2"], "Wan-VACE has no tensor-parallel layers")] {
            let out = s.path("bad")
            let r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", Self.input, "--cfg.target_path", out] + extra)
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        let r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", WanConverterTests.sora("wan_t2v_vpp2/input"), "--cfg.target_path", s.path("x")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("WanTransformer3DModel") && r.text.contains("VaceWanModel"), r.text)
        // An existing output file is kept unless --force.
        let mm = s.path("mm"), pt = s.path("out") + ".pt"
        try Self.run("hf_to_mm", Self.input, mm)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: pt))
        let again = Converters.runFailing([Self.converter, "mm_to_hf", "--cfg.source_path", mm, "--cfg.target_path", pt])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(try String(contentsOfFile: pt, encoding: .utf8), "keep")
        try Self.run("mm_to_hf", mm, pt, ["--force"])
        XCTAssertEqual(try Self.entries(ofPT: pt).count, 185)
    }
}
