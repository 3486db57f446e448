import Foundation
import XCTest
@testable import CLI
import Ops

/// Tiny Hugging Face checkpoints of the models the later DCP converters handle, written by the
/// workspace (two shards, config.json, a side file), with the key layouts of the Hub.
enum DCPModelFixtures {
    /// Writes `tensors` (name, shape) as bf16 with distinct bytes, cut into shards of
    /// `shardBytes`, with `config` as config.json and a tokenizer_config.json side file.
    static func write(_ dir: String, _ tensors: [(String, [Int])], config: Value, shardBytes: Int = 600) throws {
        var m = TensorMap()
        for (i, (name, shape)) in tensors.enumerated() { m[name] = try InspectTensors.tensor(.bf16, shape, seed: i + 1) }
        let ws = Workspace()
        ws.setModel(m)
        ws.config = config
        try ws.saveHF(dir, like: nil, maxShardBytes: shardBytes)
        try Data("{\"model_max_length\": 128}\n".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
    }

    /// Mistral-Small-3 in the older Hub layout (`language_model.model.*`) or the newer one
    /// (`model.language_model.*`, `lm_head.weight`); `tied` leaves the LM head out.
    static func mistral3(_ dir: String, newKeys: Bool, tied: Bool = false) throws {
        let lm = newKeys ? "model.language_model." : "language_model.model."
        let vt = newKeys ? "model.vision_tower." : "vision_tower."
        let mp = newKeys ? "model.multi_modal_projector." : "multi_modal_projector."
        var t: [(String, [Int])] = [
            (lm + "embed_tokens.weight", [16, 8]),
            (lm + "layers.0.self_attn.q_proj.weight", [8, 8]),
            (lm + "layers.0.mlp.gate_proj.weight", [12, 8]),
            (lm + "layers.0.mlp.down_proj.weight", [8, 12]),
            (lm + "norm.weight", [8]),
            (vt + "patch_conv.weight", [4, 3, 2, 2]),
            (vt + "transformer.layers.0.attention.q_proj.weight", [4, 4]),
            (mp + "linear_1.weight", [8, 4]),
        ]
        if !tied { t.append(((newKeys ? "" : "language_model.") + "lm_head.weight", [16, 8])) }
        try write(dir, t, config: .dict([("model_type", .string("mistral3")),
                                         ("text_config", .dict([("hidden_size", .int(8)), ("num_hidden_layers", .int(1))])),
                                         ("vision_config", .dict([("hidden_size", .int(4))]))]))
    }
}

/// Mistral3Converter, Qwen35Converter and the LoRA key layout against the rules of dcp.md §2.
final class DCPModelConverterTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory("dcp-models") }
    override func tearDownWithError() throws { dir.remove() }

    func out(_ name: String) -> String { dir.url.appendingPathComponent(name).path }

    @discardableResult
    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> CLIRun {
        let r = CLIRun(args + ["--quiet"])
        XCTAssertEqual(r.status, 0, r.errText, file: file, line: line)
        return r
    }

    func assertSameFiles(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fm = FileManager.default
        let left = try fm.contentsOfDirectory(atPath: a).sorted(), right = try fm.contentsOfDirectory(atPath: b).sorted()
        XCTAssertEqual(left, right, "files of \(b)", file: file, line: line)
        for name in left where right.contains(name) {
            XCTAssertEqual(fm.contents(atPath: a + "/" + name), fm.contents(atPath: b + "/" + name), name, file: file, line: line)
        }
    }

    func fqns(_ path: String) throws -> [String] { try DCPCheckpoint.load(path).entries.map(\.fqn).sorted() }

    // MARK: - Mistral3Converter

    /// Both Hub layouts go to the same FQNs (model.model.<newer key>), and come back in their own
    /// layout, byte for byte (the reference writes the older names for both, §3 D5).
    func testMistral3BothKeyLayoutsRoundTrip() throws {
        for newKeys in [false, true] {
            let hf = out("hf-\(newKeys)"), dcp = out("dcp-\(newKeys)"), back = out("back-\(newKeys)")
            try DCPModelFixtures.mistral3(hf, newKeys: newKeys)
            run(["Mistral3Converter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", dcp])
            XCTAssertEqual(try fqns(dcp), [
                "checkpoint_version", "model.lm_head.weight", "model.model.language_model.embed_tokens.weight",
                "model.model.language_model.layers.0.mlp.down_proj.weight", "model.model.language_model.layers.0.mlp.gate_proj.weight",
                "model.model.language_model.layers.0.self_attn.q_proj.weight", "model.model.language_model.norm.weight",
                "model.model.multi_modal_projector.linear_1.weight", "model.model.vision_tower.patch_conv.weight",
                "model.model.vision_tower.transformer.layers.0.attention.q_proj.weight",
            ].map { $0.hasPrefix("model.") ? "model." + $0 : $0 }.sorted())
            run(["Mistral3Converter", "dcp_to_hf", "--load_dir", dcp, "--save_dir", back, "--model_assets_dir", hf])
            try assertSameFiles(hf, back)
        }
    }

    /// D9: the tie is resolved after the rename and over the whole checkpoint: an older-layout
    /// tied model (embedding and no LM head, in another shard than where the head would go) gets
    /// lm_head.weight, a copy of the embedding, and comes back without it.
    func testMistral3TieAcrossShardsAndLayouts() throws {
        let hf = out("hf"), dcp = out("dcp"), back = out("back")
        try DCPModelFixtures.mistral3(hf, newKeys: false, tied: true)
        XCTAssertGreaterThan(try HFCheckpoint.load(hf).index?.weightMap.map(\.file).reduce(into: Set<String>()) { $0.insert($1) }.count ?? 0, 1)
        run(["Mistral3Converter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", dcp, "--tie_weight", "true"])
        let ckpt = try DCPCheckpoint.load(dcp)
        XCTAssertEqual(try ckpt.tensor("model.model.lm_head.weight").sha256(), try ckpt.tensor("model.model.model.language_model.embed_tokens.weight").sha256())
        run(["Mistral3Converter", "dcp_to_hf", "--load_dir", dcp, "--save_dir", back, "--model_assets_dir", hf])
        try assertSameFiles(hf, back)
    }
}
