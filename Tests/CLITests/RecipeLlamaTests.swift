import CLI
import DSL
import Foundation
import Ops
import XCTest

/// A tiny Llama-style checkpoint (GQA: 4 heads, 2 KV heads; 4 layers; vocab 256) with
/// deterministic random bf16 weights, written as a two-shard HF directory with side files.
enum TinyLlama {
    static let hidden = 64, heads = 4, kvHeads = 2, layers = 4, ffn = 128, vocab = 256
    static var headDim: Int { hidden / heads }

    static func config(tied: Bool) -> Value {
        .dict([
            ("architectures", .list([.string("LlamaForCausalLM")])), ("model_type", .string("llama")),
            ("hidden_size", .int(hidden)), ("intermediate_size", .int(ffn)), ("num_attention_heads", .int(heads)),
            ("num_hidden_layers", .int(layers)), ("num_key_value_heads", .int(kvHeads)), ("rms_norm_eps", .float(1e-5)),
            ("tie_word_embeddings", .bool(tied)), ("torch_dtype", .string("bfloat16")), ("vocab_size", .int(vocab)),
        ])
    }

    static func tensors(tied: Bool, seed: UInt64 = 7) throws -> TensorMap {
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 20, seed: seed)
        var m = TensorMap()
        func add(_ n: String, _ shape: [Int]) throws { m[n] = try pool.tensor(n, shape) }
        let d = headDim
        try add("model.embed_tokens.weight", [vocab, hidden])
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            try add(p + "input_layernorm.weight", [hidden])
            try add(p + "self_attn.q_proj.weight", [heads * d, hidden])
            try add(p + "self_attn.k_proj.weight", [kvHeads * d, hidden])
            try add(p + "self_attn.v_proj.weight", [kvHeads * d, hidden])
            try add(p + "self_attn.o_proj.weight", [hidden, heads * d])
            try add(p + "post_attention_layernorm.weight", [hidden])
            try add(p + "mlp.gate_proj.weight", [ffn, hidden])
            try add(p + "mlp.up_proj.weight", [ffn, hidden])
            try add(p + "mlp.down_proj.weight", [hidden, ffn])
        }
        try add("model.norm.weight", [hidden])
        if !tied { try add("lm_head.weight", [vocab, hidden]) }
        return m
    }

    /// Writes the checkpoint (two shards, index, config.json and two side files).
    @discardableResult
    static func write(_ dir: String, tied: Bool = false) throws -> TensorMap {
        let m = try tensors(tied: tied)
        let side: [String: [UInt8]] = [
            "config.json": TestTensors.json(config(tied: tied)),
            "generation_config.json": Array("{\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2\n}\n".utf8),
            "tokenizer_config.json": Array("{\"model_max_length\": 4096}\n".utf8),
        ]
        let result = try HFCheckpoint.save(m, to: dir, maxShardBytes: m.totalBytes * 2 / 3, sideFiles: side)
        let shards = result.files.filter { $0.hasSuffix(".safetensors") }.count
        guard shards == 2 else { throw OpsError.invalid("tiny Llama: expected 2 shards, got \(shards)") }
        return m
    }
}

/// Every file under `dir` (relative paths, sorted).
func filesUnder(_ dir: String) -> [String] {
    (FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? [])
        .filter { var isDir: ObjCBool = false; return FileManager.default.fileExists(atPath: dir + "/" + $0, isDirectory: &isDir) && !isDir.boolValue }
        .sorted()
}

/// examples/llama, a family written for a model that is not bundled (its layout.recipe, and three
/// four-line converter files on the bundled directions): HF -> MM -> HF through `mm-convert run`
/// gives back the original directory byte for byte. examples/llama/standalone/ holds the same
/// converter written without the shared directions (the language before families), still run.
final class RecipeLlamaTests: XCTestCase {
    let hfToMM = RecipePaths.examples + "/llama/hf_to_mm.recipe"
    let mmToHF = RecipePaths.examples + "/llama/mm_to_hf.recipe"
    let resplit = RecipePaths.examples + "/llama/resplit.recipe"

    func toMM(_ hf: String, _ mm: String, tp: Int = 1, layers: String, file: StaticString = #filePath, line: UInt = #line) {
        run([hfToMM, "--set", "cfg.hf_config.hf_dir=\(hf)", "--set", "cfg.mm_dir=\(mm)", "--set", "cfg.parallel_config.tp_size=\(tp)",
             "--set", "cfg.parallel_config.llm_pp_layers=\(layers)"], file: file, line: line)
    }

    func toHF(_ mm: String, original hf: String, _ out: String, tp: Int = 1, layers: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        run([mmToHF, "--set", "cfg.mm_dir=\(mm)", "--set", "cfg.hf_config.hf_dir=\(hf)", "--set", "cfg.save_hf_dir=\(out)",
             "--set", "cfg.parallel_config.tp_size=\(tp)"] + (layers.map { ["--set", "cfg.parallel_config.llm_pp_layers=\($0)"] } ?? []), file: file, line: line)
    }

    func assertSameFiles(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fa = filesUnder(a), fb = filesUnder(b)
        XCTAssertEqual(fa, fb, "file lists differ", file: file, line: line)
        for f in fa where fb.contains(f) {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + f)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + f))
            XCTAssertTrue(x == y, "\(f) differs (\(x.count) vs \(y.count) bytes)", file: file, line: line)
        }
    }

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) {
        let r = runCLI(["run"] + args + ["--quiet"])
        XCTAssertEqual(r.status, 0, r.errText, file: file, line: line)
    }

    func testRecipesParseAndDeclareTheirParameters() throws {
        let loader = RecipeLoader.fileSystem(then: .memory(BundledRecipes.files))
        let to = try Recipe.load(hfToMM)
        let names = try to.parameters(loader: loader).map(\.name)
        XCTAssertEqual(Array(names.prefix(4)), ["cfg.mm_dir", "cfg.hf_config.hf_dir", "cfg.parallel_config.llm_pp_layers", "cfg.parallel_config.vit_pp_layers"])
        XCTAssertEqual(try to.info(loader: loader).converter, "LlamaConverter")
        let standalone = try Recipe.load(RecipePaths.examples + "/llama/standalone/mm_to_hf.recipe")
        XCTAssertEqual(try standalone.parameters(loader: loader).map(\.name), ["mm_dir", "hf_dir", "save_dir", "tp", "pp_layers"])
    }

    /// The standalone converter (own parameters, no family) still converts both ways exactly.
    func testStandaloneRecipesRoundTrip() throws {
        let s = try Scratch("llama-standalone")
        let hf = s.path("hf"), mm = s.path("mm"), back = s.path("back")
        try TinyLlama.write(hf)
        let dir = RecipePaths.examples + "/llama/standalone/"
        run([dir + "hf_to_mm.recipe", "--set", "hf_dir=\(hf)", "--set", "mm_dir=\(mm)", "--set", "tp=2", "--set", "pp_layers=[[1,3]]"])
        run([dir + "mm_to_hf.recipe", "--set", "mm_dir=\(mm)", "--set", "hf_dir=\(hf)", "--set", "save_dir=\(back)", "--set", "tp=2"])
        try assertSameFiles(hf, back)
    }

    /// The family's resplit: tp 2 / pp [1,3] -> tp 1 with VPP, then back to HF.
    func testResplit() throws {
        let s = try Scratch("llama-resplit")
        let hf = s.path("hf"), mm = s.path("mm"), mm2 = s.path("mm2"), back = s.path("back")
        try TinyLlama.write(hf)
        toMM(hf, mm, tp: 2, layers: "[[1,3]]")
        run([resplit, "--set", "cfg.source_dir=\(mm)", "--set", "cfg.target_dir=\(mm2)", "--set", "cfg.source_parallel_config.tp_size=2",
             "--set", "cfg.target_parallel_config.llm_pp_layers=[[1,1],[1,1]]"])
        XCTAssertEqual(try MMCheckpointReader.load(mm2).vppSize, 2)
        toHF(mm2, original: hf, back)
        try assertSameFiles(hf, back)
    }

    /// tp 2, pp [[1,3]]: four rank files with the intended placement and TP splits; back to HF
    /// (layer lists read from the files) byte for byte.
    func testRoundTripTP2PP2() throws {
        let s = try Scratch("llama")
        let hf = s.path("hf"), mm = s.path("mm"), back = s.path("back")
        let original = try TinyLlama.write(hf)
        toMM(hf, mm, tp: 2, layers: "[[1,3]]")

        XCTAssertEqual(filesUnder(mm), ["latest_checkpointed_iteration.txt"] + ["00_000", "00_001", "01_000", "01_001"].map { "release/mp_rank_\($0)/model_optim_rng.pt" })
        let ckpt = try MMCheckpointReader.load(mm)
        XCTAssertEqual([ckpt.tpSize, ckpt.ppSize, ckpt.vppSize], [2, 2, 1])
        let layer = ["input_layernorm.weight", "self_attention.linear_qkv.weight", "self_attention.linear_proj.weight",
                     "pre_mlp_layernorm.weight", "mlp.linear_fc1.weight", "mlp.linear_fc2.weight"]
        func layerNames(_ n: Int) -> [String] { (0..<n).flatMap { l in layer.map { "text_decoder.decoder.layers.\(l).\($0)" } } }
        for t in 0..<2 {
            let s0 = try XCTUnwrap(ckpt.rank(MMRank(tp: t, pp: 0, ep: 0))).chunks[0]
            let s1 = try XCTUnwrap(ckpt.rank(MMRank(tp: t, pp: 1, ep: 0))).chunks[0]
            XCTAssertEqual(s0.names.sorted(), (["text_decoder.embedding.word_embeddings.weight"] + layerNames(1)).sorted())
            XCTAssertEqual(s1.names.sorted(), (layerNames(3) + ["text_decoder.decoder.final_layernorm.weight", "text_decoder.output_layer.weight"]).sorted())
            XCTAssertEqual(s0["text_decoder.embedding.word_embeddings.weight"]?.shape, [128, 64])
            XCTAssertEqual(s0["text_decoder.decoder.layers.0.self_attention.linear_qkv.weight"]?.shape, [64, 64])  // (4 + 2 + 2) * 16 / 2
            XCTAssertEqual(s0["text_decoder.decoder.layers.0.self_attention.linear_proj.weight"]?.shape, [64, 32])
            XCTAssertEqual(s0["text_decoder.decoder.layers.0.mlp.linear_fc1.weight"]?.shape, [128, 64])
            XCTAssertEqual(s0["text_decoder.decoder.layers.0.mlp.linear_fc2.weight"]?.shape, [64, 64])
            XCTAssertEqual(s1["text_decoder.output_layer.weight"]?.shape, [128, 64])

            // Element order: TP rank t holds KV group t: its 2 query heads, its key head, its value head;
            // fc1 holds gate rows then up rows of its half; stage 1's layer 0 is the model's layer 1.
            let d = TinyLlama.headDim
            func rows(_ n: String, _ start: Int, _ count: Int) throws -> Tensor { try original[n]!.slice(dim: 0, start: start, count: count) }
            let q = "model.layers.1.self_attn."
            let qkv = try Tensor.concat([try rows(q + "q_proj.weight", t * 2 * d, 2 * d), try rows(q + "k_proj.weight", t * d, d),
                                         try rows(q + "v_proj.weight", t * d, d)], dim: 0)
            XCTAssertEqual(try s1["text_decoder.decoder.layers.0.self_attention.linear_qkv.weight"]!.materialize(), try qkv.materialize())
            let fc1 = try Tensor.concat([try rows("model.layers.1.mlp.gate_proj.weight", t * 64, 64), try rows("model.layers.1.mlp.up_proj.weight", t * 64, 64)], dim: 0)
            XCTAssertEqual(try s1["text_decoder.decoder.layers.0.mlp.linear_fc1.weight"]!.materialize(), try fc1.materialize())
            let proj = try original["model.layers.0.self_attn.o_proj.weight"]!.slice(dim: 1, start: t * 32, count: 32)
            XCTAssertEqual(try s0["text_decoder.decoder.layers.0.self_attention.linear_proj.weight"]!.materialize(), try proj.materialize())
            XCTAssertEqual(try s1["text_decoder.decoder.final_layernorm.weight"]!.materialize(), try original["model.norm.weight"]!.materialize())
        }

        toHF(mm, original: hf, back, tp: 2)
        try assertSameFiles(hf, back)
    }

    /// Virtual pipeline: tp 2, [[1,1],[1,1]] = 2 PP ranks x 2 chunks; back with the lists given.
    func testRoundTripVPP() throws {
        let s = try Scratch("llama-vpp")
        let hf = s.path("hf"), mm = s.path("mm"), back = s.path("back")
        try TinyLlama.write(hf)
        toMM(hf, mm, tp: 2, layers: "[[1,1],[1,1]]")
        let ckpt = try MMCheckpointReader.load(mm)
        XCTAssertEqual([ckpt.tpSize, ckpt.ppSize, ckpt.vppSize], [2, 2, 2])
        let r0 = try XCTUnwrap(ckpt.rank(MMRank(tp: 1, pp: 0, ep: 0))), r1 = try XCTUnwrap(ckpt.rank(MMRank(tp: 1, pp: 1, ep: 0)))
        func prefixes(_ m: TensorMap) -> Set<String> {
            Set(m.names.map { n in n.hasPrefix("text_decoder.decoder.layers.") ? n.split(separator: ".").prefix(4).joined(separator: ".") : n })
        }
        XCTAssertEqual(prefixes(r0.chunks[0]), ["text_decoder.embedding.word_embeddings.weight", "text_decoder.decoder.layers.0"])
        XCTAssertEqual(prefixes(r1.chunks[0]), ["text_decoder.decoder.layers.0"])
        XCTAssertEqual(prefixes(r0.chunks[1]), ["text_decoder.decoder.layers.0"])
        XCTAssertEqual(prefixes(r1.chunks[1]), ["text_decoder.decoder.layers.0", "text_decoder.decoder.final_layernorm.weight", "text_decoder.output_layer.weight"])

        toHF(mm, original: hf, back, tp: 2, layers: "[[1,1],[1,1]]")
        try assertSameFiles(hf, back)
    }

    /// A tied model (no lm_head in its files) with pp 2: the last stage gets its own copy of the
    /// embedding, which mm_to_hf drops again.
    func testRoundTripTied() throws {
        let s = try Scratch("llama-tied")
        let hf = s.path("hf"), mm = s.path("mm"), back = s.path("back")
        try TinyLlama.write(hf, tied: true)
        toMM(hf, mm, layers: "[[2,2]]")
        let ckpt = try MMCheckpointReader.load(mm)
        let last = try XCTUnwrap(ckpt.rank(MMRank(tp: 0, pp: 1, ep: 0))).chunks[0]
        let first = try XCTUnwrap(ckpt.rank(MMRank(tp: 0, pp: 0, ep: 0))).chunks[0]
        XCTAssertEqual(try last["text_decoder.output_layer.weight"]?.materialize(), try first["text_decoder.embedding.word_embeddings.weight"]?.materialize())
        toHF(mm, original: hf, back)
        try assertSameFiles(hf, back)
    }
}
