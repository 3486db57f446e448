/// GLM-4.1V samples (Glm4vForConditionalGeneration): presets, tensors and config.json.
///
/// Names as transformers (4.53+) saves them: `model.visual.`, `model.language_model.`, `lm_head.weight`.
/// The ViT has RMS norms without biases, a bias-free fused qkv (attention_bias false), learned
/// position embeddings ((image_size / patch_size)^2 of them), a gated MLP as wide as the LLM
/// (`out_hidden_size`), a 2x2 convolution `downsample` to the LLM width and a merger whose gated MLP
/// is `vision_config.intermediate_size` wide (`ViTShape.mlp` here). The LLM (GLM-4) has q/k/v
/// biases, a fused `gate_up_proj` and four norms per layer. config.json keeps the text fields at the
/// top level, as the Hub's GLM-4.1V-9B-Thinking does (§7.7).
extension SampleModel {
    static func glm4vPreset(size: String) throws -> SampleModel {
        switch size {
        case "tiny":  // /work/shared/fixtures/hf/glm4v
            return .init(family: .glm4v, llm: .init(hidden: 32, layers: 4, heads: 4, kvHeads: 2, ffn: 64, vocab: 256, tied: false),
                         vit: .init(width: 8, depth: 2, heads: 2, mlp: 64, positions: 16), maxShardBytes: 80_000)
        case "9b":  // GLM-4.1V-9B-Thinking (image_size 336: 24 x 24 position embeddings)
            return .init(family: .glm4v, llm: .init(hidden: 4096, layers: 40, heads: 32, kvHeads: 2, ffn: 13696, vocab: 151_552, tied: false),
                         vit: .init(width: 1536, depth: 24, heads: 12, mlp: 13696, positions: 576), maxShardBytes: 4_000_000_000)
        default:
            throw unknownSize(.glm4v, size)
        }
    }
}

extension SampleGenerator {
    /// The tensors of Glm4vForConditionalGeneration, in its module order.
    func addGlm4v(_ m: inout TensorMap) throws {
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        let l = model.llm, v = model.vit, d = l.headSize
        let out = l.hidden  // out_hidden_size: the ViT MLP, downsample and merger width
        let vis = "model.visual."
        try add(vis + "embeddings.position_embedding.weight", [v.positions, v.width])
        try add(vis + "patch_embed.proj.weight", [v.width, 3, 2, 14, 14]); try add(vis + "patch_embed.proj.bias", [v.width])
        try add(vis + "post_conv_layernorm.weight", [v.width])
        for i in 0..<v.depth {
            let p = vis + "blocks.\(i)."
            try add(p + "norm1.weight", [v.width]); try add(p + "norm2.weight", [v.width])
            try add(p + "attn.qkv.weight", [3 * v.width, v.width])
            try add(p + "attn.proj.weight", [v.width, v.width])
            try add(p + "mlp.gate_proj.weight", [out, v.width]); try add(p + "mlp.up_proj.weight", [out, v.width])
            try add(p + "mlp.down_proj.weight", [v.width, out])
        }
        try add(vis + "post_layernorm.weight", [v.width])
        try add(vis + "downsample.weight", [out, v.width, 2, 2]); try add(vis + "downsample.bias", [out])
        try add(vis + "merger.proj.weight", [out, out])
        try add(vis + "merger.post_projection_norm.weight", [out]); try add(vis + "merger.post_projection_norm.bias", [out])
        try add(vis + "merger.gate_proj.weight", [v.mlp, out]); try add(vis + "merger.up_proj.weight", [v.mlp, out])
        try add(vis + "merger.down_proj.weight", [out, v.mlp])

        let lm = "model.language_model."
        try add(lm + "embed_tokens.weight", [l.vocab, l.hidden])
        for i in 0..<l.layers {
            let p = lm + "layers.\(i)."
            try add(p + "input_layernorm.weight", [l.hidden])
            for (n, rows) in [("q_proj", l.heads * d), ("k_proj", l.kvHeads * d), ("v_proj", l.kvHeads * d)] {
                try add(p + "self_attn.\(n).weight", [rows, l.hidden]); try add(p + "self_attn.\(n).bias", [rows])
            }
            try add(p + "self_attn.o_proj.weight", [l.hidden, l.heads * d])
            try add(p + "post_self_attn_layernorm.weight", [l.hidden])
            try add(p + "post_attention_layernorm.weight", [l.hidden])
            try add(p + "mlp.gate_up_proj.weight", [2 * l.ffn, l.hidden])
            try add(p + "mlp.down_proj.weight", [l.hidden, l.ffn])
            try add(p + "post_mlp_layernorm.weight", [l.hidden])
        }
        try add(lm + "norm.weight", [l.hidden])
        if !l.tied { try add("lm_head.weight", [l.vocab, l.hidden]) }
    }

    /// config.json of the GLM-4.1V checkpoints (keys sorted, text fields at the top level).
    func glm4vConfig() -> Value {
        let l = model.llm, v = model.vit, tok = Glm4vTokens(vocab: l.vocab)
        // Rotary over half of each head (partial_rotary_factor 0.5), split between time, height and width.
        let half = l.headSize / 4
        let mrope = l.headSize == 128 ? [8, 12, 12] : [half - 2 * (half / 4), half / 4, half / 4]
        let side = Int(Double(v.positions).squareRoot())
        return SampleGenerator.sortedKeys(.dict([
            ("architectures", .list([.string("Glm4vForConditionalGeneration")])), ("attention_bias", .bool(true)),
            ("attention_dropout", .float(0)), ("eos_token_id", .list(tok.eos.map { .int($0) })), ("hidden_act", .string("silu")),
            ("hidden_size", .int(l.hidden)), ("image_end_token_id", .int(tok.imageEnd)), ("image_start_token_id", .int(tok.imageStart)),
            ("image_token_id", .int(tok.image)), ("initializer_range", .float(0.02)), ("intermediate_size", .int(l.ffn)),
            ("max_position_embeddings", .int(65536)), ("model_type", .string("glm4v")), ("num_attention_heads", .int(l.heads)),
            ("num_hidden_layers", .int(l.layers)), ("num_key_value_heads", .int(l.kvHeads)), ("pad_token_id", .int(tok.pad)),
            ("partial_rotary_factor", .float(0.5)), ("rms_norm_eps", .float(1e-5)),
            ("rope_scaling", .dict([("mrope_section", .list(mrope.map { .int($0) })), ("type", .string("default"))])),
            ("rope_theta", .float(10000)), ("tie_word_embeddings", .bool(l.tied)), ("torch_dtype", .string("bfloat16")),
            ("transformers_version", .string("4.53.0.dev0")), ("use_cache", .bool(true)),
            ("video_end_token_id", .int(tok.videoEnd)), ("video_start_token_id", .int(tok.videoStart)), ("video_token_id", .int(tok.video)),
            ("vision_config", .dict([
                ("attention_bias", .bool(false)), ("depth", .int(v.depth)), ("hidden_act", .string("silu")),
                ("hidden_dropout_prob", .float(0)), ("hidden_size", .int(v.width)), ("image_size", .int(side * 14)),
                ("initializer_range", .float(0.02)), ("intermediate_size", .int(v.mlp)), ("num_heads", .int(v.heads)),
                ("out_hidden_size", .int(l.hidden)), ("patch_size", .int(14)), ("rms_norm_eps", .float(1e-5)),
                ("spatial_merge_size", .int(2)), ("temporal_patch_size", .int(2)),
            ])),
            ("vocab_size", .int(l.vocab)),
        ]))
    }

    /// generation_config.json of GLM-4.1V-9B-Thinking (sampling on, four end tokens).
    func glm4vGenerationConfig() -> String {
        let tok = Glm4vTokens(vocab: model.llm.vocab)
        return JSONWriter(layout: .indented(2)).string(.dict([
            ("do_sample", .bool(true)), ("eos_token_id", .list(tok.eos.map { .int($0) })), ("pad_token_id", .int(tok.pad)),
            ("temperature", .float(1)), ("top_k", .int(2)), ("top_p", .float(0.6)), ("transformers_version", .string("4.53.0.dev0")),
        ])) + "\n"
    }
}

/// GLM-4.1V's special tokens: the real ids (from <|endoftext|> 151329) with the real vocabulary,
/// otherwise the same offsets from `vocab - 20` (the fixture's places).
struct Glm4vTokens {
    let pad, imageStart, imageEnd, videoStart, videoEnd, image, video: Int
    let eos: [Int]

    init(vocab: Int) {
        let base = vocab >= 151_552 ? 151_329 : vocab - 20
        pad = base
        eos = [base, base + 7, base + 9, base + 19]
        (imageStart, imageEnd, videoStart, videoEnd, image, video) = (base + 10, base + 11, base + 12, base + 13, base + 14, base + 15)
    }
}
