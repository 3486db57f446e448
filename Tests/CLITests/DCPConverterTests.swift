import Foundation
import XCTest
@testable import CLI
import Ops

/// The DCP converters (reference dcp.md §2) against the reference's outputs in
/// `shared/fixtures/dcp/ref_*`: hf_to_dcp gives the reference's entries (FQN, nesting, dtype, shape,
/// SHA-256 of every tensor), dcp_to_hf gives back the original checkpoint byte for byte (side
/// files included), and each reference bug of §3 has a test showing ours does not have it.
final class DCPConverterTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory("dcp-conv") }
    override func tearDownWithError() throws { dir.remove() }

    func fixture(_ path: String) -> String { InspectFixtures.fixture("dcp/" + path) }
    func out(_ name: String) -> String { dir.url.appendingPathComponent(name).path }

    func fails(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        let r = CLIRun(args + ["--quiet"])
        XCTAssertNotEqual(r.status, 0, "expected a failure: \(args)", file: file, line: line)
        return r.errText
    }

    /// Every entry of `expected` (a fixture's `.expected.json`) is in `ckpt` with the same planner
    /// path, dtype, shape and tensor SHA-256 (or bytes value), and nothing else is.
    func assertSameEntries(_ path: String, _ expectedName: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ckpt = try DCPCheckpoint.load(path)
        let expected = try JSONReader.parse(contentsOf: fixture(expectedName + ".expected.json"))
        guard case let .list(entries)? = expected["entries"] else { return XCTFail("no entries", file: file, line: line) }
        var names: [String] = []
        for e in entries {
            guard case let .string(fqn)? = e["fqn"] else { continue }
            names.append(fqn)
            guard let ours = ckpt.entry(fqn) else { XCTFail("missing entry \(fqn)", file: file, line: line); continue }
            if case let .list(p)? = e["planner_path"] {
                XCTAssertEqual(ckpt.plannerPath(fqn).map(\.description), p.compactMap { if case let .string(s) = $0 { return s } else { return nil } },
                               fqn, file: file, line: line)
            }
            if case .string("bytes")? = e["kind"] {
                XCTAssertNil(ours.tensor, fqn, file: file, line: line)
                if case let .float(v)? = e["value"]?["value"] {
                    guard case let .float(x) = try ckpt.value(fqn) else { XCTFail("\(fqn) is not a float", file: file, line: line); continue }
                    XCTAssertEqual(x, v, fqn, file: file, line: line)
                }
                continue
            }
            let t = try ckpt.tensor(fqn)
            XCTAssertEqual(.string(t.dtype.torchName.replacingOccurrences(of: "torch.", with: "")), e["dtype"], fqn, file: file, line: line)
            XCTAssertEqual(.list(t.shape.map { .int($0) }), e["shape"], fqn, file: file, line: line)
            XCTAssertEqual(.string(try t.sha256()), e["sha256"], fqn, file: file, line: line)
        }
        XCTAssertEqual(Set(ckpt.entries.map(\.fqn)), Set(names), "entry names", file: file, line: line)
    }

    // MARK: - GenericDCPConverter

    /// hf_to_dcp: the reference's 47 entries (46 tensors + checkpoint_version), FQN model.<key>.
    func testGenericHFToDCPMatchesReference() throws {
        runOK(["GenericDCPConverter", "hf_to_dcp", "--hf_dir", fixture("ref_generic_qwen2vl/hf"), "--dcp_dir", out("dcp")])
        try assertSameEntries(out("dcp"), "ref_generic_qwen2vl")
        XCTAssertEqual(try String(contentsOfFile: out("dcp/latest_checkpointed_iteration.txt")), "release")
        let ckpt = try DCPCheckpoint.load(out("dcp"))
        XCTAssertNotNil(ckpt.entry("model.model.embed_tokens.weight"))
        XCTAssertNotNil(ckpt.entry("model.visual.blocks.0.attn.qkv.weight"))
    }

    /// dcp_to_hf of the reference's DCP: shards, index and every side file (README, generation
    /// and preprocessor configs, tokenizer) identical to the original (D6); the root and the
    /// checkpoint directory both work (D8).
    func testGenericDCPToHFGivesTheOriginalBack() throws {
        for (i, load) in ["ref_generic_qwen2vl/dcp/release", "ref_generic_qwen2vl/dcp"].enumerated() {
            runOK(["GenericDCPConverter", "dcp_to_hf", "--load_dir", fixture(load), "--save_dir", out("back\(i)"),
                 "--model_assets_dir", fixture("ref_generic_qwen2vl/hf")])
            try assertSameFileBytes(fixture("ref_generic_qwen2vl/hf"), out("back\(i)"))
        }
    }

    /// A copy of `hf` without `lm_head.weight` (a tied model): shards and config.json.
    func tiedCopy(of hf: String) throws -> String {
        let ws = Workspace()
        try ws.loadHF(hf)
        try ws.apply(try Drop(["lm_head.weight"]), inverse: false)
        ws.hfSource = nil
        try ws.saveHF(out("tied-hf"), like: nil, maxShardBytes: 20_000)
        return out("tied-hf")
    }

    /// Prefixes: hf_prefix is replaced by dcp_prefix at the start of a key, keys without it are
    /// kept; the way back restores every name (dcp.md §2.3 example); a tie mapping writes a copy,
    /// which the way back leaves out where the original has no place for it.
    func testGenericPrefixesTiesAndRoundTrip() throws {
        let hf = try tiedCopy(of: fixture("ref_generic_qwen2vl/hf"))
        runOK(["GenericDCPConverter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("dcp"), "--hf_prefix", "model.", "--dcp_prefix", "inner.",
             "--tie_weight_mapping", #"{"lm_head.weight": "model.embed_tokens.weight"}"#])
        let ckpt = try DCPCheckpoint.load(out("dcp"))
        XCTAssertNotNil(ckpt.entry("model.inner.embed_tokens.weight"))
        XCTAssertNotNil(ckpt.entry("model.visual.blocks.0.attn.qkv.weight"))
        XCTAssertEqual(try ckpt.tensor("model.lm_head.weight").sha256(), try ckpt.tensor("model.inner.embed_tokens.weight").sha256())
        runOK(["GenericDCPConverter", "dcp_to_hf", "--load_dir", out("dcp"), "--save_dir", out("back"), "--model_assets_dir", hf,
             "--hf_prefix", "model.", "--dcp_prefix", "inner."])
        try assertSameFileBytes(hf, out("back"))
        // A tie onto a tensor the checkpoint has is refused (the reference overwrites it).
        let err = fails(["GenericDCPConverter", "hf_to_dcp", "--hf_dir", fixture("ref_generic_qwen2vl/hf"), "--dcp_dir", out("dcp2"),
                         "--tie_weight_mapping", #"{"lm_head.weight": "model.embed_tokens.weight"}"#])
        XCTAssertTrue(err.contains("'lm_head.weight': already exists"), err)
    }

    /// D1: a wrong prefix selects nothing; the reference writes empty shards and exits 0. Ours
    /// fails naming the missing tensors and writes nothing.
    func testWrongPrefixFailsAndWritesNothing() throws {
        let err = fails(["GenericDCPConverter", "dcp_to_hf", "--load_dir", fixture("ref_generic_qwen2vl/dcp/release"), "--save_dir", out("back"),
                         "--model_assets_dir", fixture("ref_generic_qwen2vl/hf"), "--dcp_prefix", "model."])
        XCTAssertTrue(err.contains("'visual.blocks.0.attn.proj.bias'"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("back")))
        // Names that all lose the prefix but are not the model's: the missing ones are listed.
        runOK(["GenericDCPConverter", "hf_to_dcp", "--hf_dir", fixture("ref_generic_qwen2vl/hf"), "--dcp_dir", out("other"), "--dcp_prefix", "x.y."])
        let missing = fails(["GenericDCPConverter", "dcp_to_hf", "--load_dir", out("other"), "--save_dir", out("back"),
                             "--model_assets_dir", fixture("ref_generic_qwen2vl/hf"), "--dcp_prefix", "x."])
        XCTAssertTrue(missing.contains("46 tensor(s)") && missing.contains("missing from the converted checkpoint"), missing)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("back")))
    }

    /// D14: no path or random id inside: the same conversion into two directories gives the same
    /// bytes, file for file.
    func testOutputIsByteReproducible() throws {
        for name in ["a", "b"] {
            runOK(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", fixture("ref_qwen3vl_moe/hf"), "--dcp_dir", out(name)])
        }
        try assertSameFileBytes(out("a"), out("b"))
        try assertSameFileBytes(out("a/release"), out("b/release"))
    }

    // MARK: - Qwen3VLConverter

    /// hf_to_dcp: FQN model.model.<key>, fused experts [4,16,12] / [4,6,16] stored as [64,12] /
    /// [24,16] with the same bytes; dcp_to_hf of the reference's DCP and of ours is the original.
    func testQwen3VLMoEMatchesReferenceBothWays() throws {
        let hf = fixture("ref_qwen3vl_moe/hf")
        runOK(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("dcp")])
        try assertSameEntries(out("dcp"), "ref_qwen3vl_moe")
        for (i, load) in [fixture("ref_qwen3vl_moe/dcp/release"), out("dcp")].enumerated() {
            runOK(["Qwen3VLConverter", "dcp_to_hf", "--load_dir", load, "--save_dir", out("back\(i)"), "--model_assets_dir", hf])
            try assertSameFileBytes(hf, out("back\(i)"))
        }
    }

    /// is_lora_base and tie_weight: FQN model.base_model.model.model.<key>, lm_head a copy of the
    /// embedding; dcp_to_hf with the plain prefix refuses it (D1), and a tied copy the original
    /// has no place for is left out.
    func testQwen3VLLoRABaseAndTie() throws {
        let hf = fixture("ref_qwen3vl_moe/hf")
        runOK(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("lora"), "--is_lora_base", "true"])
        let lora = try DCPCheckpoint.load(out("lora"))
        XCTAssertNotNil(lora.entry("model.base_model.model.model.model.language_model.embed_tokens.weight"))
        _ = fails(["Qwen3VLConverter", "dcp_to_hf", "--load_dir", out("lora"), "--save_dir", out("x"), "--model_assets_dir", hf])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("x")))

        let tiedHF = try tiedCopy(of: hf)
        runOK(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", tiedHF, "--dcp_dir", out("tied"), "--tie_weight", "true"])
        let tied = try DCPCheckpoint.load(out("tied"))
        XCTAssertEqual(try tied.tensor("model.model.lm_head.weight").sha256(),
                       try tied.tensor("model.model.model.language_model.embed_tokens.weight").sha256())
        runOK(["Qwen3VLConverter", "dcp_to_hf", "--load_dir", out("tied"), "--save_dir", out("tied-back"), "--model_assets_dir", tiedHF])
        try assertSameFileBytes(tiedHF, out("tied-back"))
    }

    /// D4: a 1-D `down_proj.bias` (Qwen2.5-VL's ViT MLP) is not viewed [1, n]; a dense 2-D
    /// `down_proj.weight` is left alone (D2).
    func testOnlyThreeDimensionalExpertsAreViewed() throws {
        let hf = out("hf")
        runOK(["sample", "qwen2_5vl", hf])
        runOK(["Qwen3VLConverter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("dcp")])
        let ckpt = try DCPCheckpoint.load(out("dcp"))
        let source = try HFCheckpoint.load(hf)
        var checked = 0
        for (name, t) in source.tensors where name.contains("down_proj") || name.contains("gate_up_proj") {
            XCTAssertEqual(ckpt.entry("model.model." + name)?.tensor?.size, t.shape, name)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }

    // MARK: - TTS converters

    /// D10: MOSS-TTS / Qwen3-TTS dcp_to_hf write the original's shards and index with the
    /// converted weights only (the reference copies the whole assets directory, stale shards
    /// included, and adds model.safetensors beside them); hf_to_dcp works (D15: the reference's
    /// does nothing or fails). A custom voice needs the speaker encoder: refused, nothing written.
    func testTTSConvertersWriteOnlyTheConvertedWeights() throws {
        let hf = fixture("ref_generic_qwen2vl/hf")
        for converter in ["MOSSTTSConverter", "Qwen3TTSConverter"] {
            runOK([converter, "dcp_to_hf", "--load_dir", fixture("ref_generic_qwen2vl/dcp"), "--save_dir", out(converter), "--model_assets_dir", hf])
            try assertSameFileBytes(hf, out(converter))
            runOK([converter, "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out(converter + "-dcp")])
            try assertSameEntries(out(converter + "-dcp"), "ref_generic_qwen2vl")
        }
        let err = fails(["Qwen3TTSConverter", "dcp_to_hf", "--load_dir", fixture("ref_generic_qwen2vl/dcp"), "--save_dir", out("voice"),
                         "--model_assets_dir", hf, "--speaker_name", "amy", "--speaker_audio_path", "amy.wav"])
        XCTAssertTrue(err.contains("speaker encoder"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("voice")))
    }
}
