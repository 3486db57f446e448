/// Qwen3-VL and Qwen3-VL-MoE samples: presets, tensors and config.json.
///
/// Kept apart from the Qwen2-VL / InternVL generator because the layout differs throughout: every
/// name sits under `model.visual.` / `model.language_model.`, the ViT has learned position
/// embeddings and deepstack mergers, the LLM has q/k norms and a head_dim of its own, and the MoE
/// variant stores each layer's experts fused into two 3-D tensors without a `.weight` suffix.
extension SampleModel {
    static func qwen3VLPreset(_ family: SampleFamily, size: String) throws -> SampleModel {
        let moe = family == .qwen3vlMoe
        switch (moe, size) {
        case (false, "tiny"):  // /work/shared/fixtures/hf/qwen3vl
            return .init(family: family, llm: .init(hidden: 32, layers: 4, heads: 4, kvHeads: 2, ffn: 64, vocab: 256, tied: false, headDim: 8),
                         vit: .init(width: 8, depth: 3, heads: 2, mlp: 24, positions: 16, deepstack: [0, 2]), maxShardBytes: 100_000)
        case (false, "2b"):  // Qwen3-VL-2B-Instruct
            return .init(family: family, llm: .init(hidden: 2048, layers: 28, heads: 16, kvHeads: 8, ffn: 6144, vocab: 151_936, tied: true, headDim: 128),
                         vit: .init(width: 1024, depth: 24, heads: 16, mlp: 4096, positions: 2304, deepstack: [5, 11, 17]), maxShardBytes: 4_000_000_000)
        case (false, "4b"):  // Qwen3-VL-4B-Instruct: the 2B's ViT
            return .init(family: family, llm: .init(hidden: 2560, layers: 36, heads: 32, kvHeads: 8, ffn: 9728, vocab: 151_936, tied: true, headDim: 128),
                         vit: .init(width: 1024, depth: 24, heads: 16, mlp: 4096, positions: 2304, deepstack: [5, 11, 17]), maxShardBytes: 4_000_000_000)
        case (false, "8b"):  // Qwen3-VL-8B-Instruct
            return .init(family: family, llm: .init(hidden: 4096, layers: 36, heads: 32, kvHeads: 8, ffn: 12288, vocab: 151_936, tied: false, headDim: 128),
                         vit: .init(width: 1152, depth: 27, heads: 16, mlp: 4304, positions: 2304, deepstack: [8, 16, 24]), maxShardBytes: 4_000_000_000)
        case (true, "tiny"):  // /work/shared/fixtures/hf/qwen3vl_moe
            return .init(family: family, llm: .init(hidden: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 64, vocab: 256, tied: false, headDim: 16,
                                                    moe: .init(experts: 4, ffn: 16, topK: 2)),
                         vit: .init(width: 8, depth: 2, heads: 2, mlp: 24, positions: 16, deepstack: [1]), maxShardBytes: 80_000)
        case (true, "30b_a3b"):  // Qwen3-VL-30B-A3B-Instruct
            return .init(family: family, llm: .init(hidden: 2048, layers: 48, heads: 32, kvHeads: 4, ffn: 6144, vocab: 151_936, tied: false, headDim: 128,
                                                    moe: .init(experts: 128, ffn: 768, topK: 8)),
                         vit: .init(width: 1152, depth: 27, heads: 16, mlp: 4304, positions: 2304, deepstack: [8, 16, 24]), maxShardBytes: 4_000_000_000)
        case (true, "bench"):
            // The 30B-A3B's 48 layers x 128 experts (the tensor count and expert handling a converter
            // must cope with) at 1/8 of its widths: about 2.5 GB, so a benchmark runs in seconds.
            return .init(family: family, llm: .init(hidden: 256, layers: 48, heads: 16, kvHeads: 2, ffn: 768, vocab: 32000, tied: false, headDim: 32,
                                                    moe: .init(experts: 128, ffn: 256, topK: 8)),
                         vit: .init(width: 256, depth: 4, heads: 4, mlp: 1024, positions: 2304, deepstack: [1, 2, 3]), maxShardBytes: 1_000_000_000)
        default:
            throw unknownSize(family, size)
        }
    }
}

extension SampleGenerator {
    /// The tensors of Hugging Face's Qwen3VL(Moe)ForConditionalGeneration, in its module order.
    func addQwen3VL(_ m: inout TensorMap) throws {
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        let l = model.llm, v = model.vit, d = l.headSize
        let merged = v.width * 4  // 2x2 patches per LLM token
        try add("model.visual.patch_embed.proj.weight", [v.width, 3, 2, 16, 16])
        try add("model.visual.patch_embed.proj.bias", [v.width])
        try add("model.visual.pos_embed.weight", [v.positions, v.width])
        for i in 0..<v.depth {
            let p = "model.visual.blocks.\(i)."
            for n in ["norm1", "norm2"] { try add(p + n + ".weight", [v.width]); try add(p + n + ".bias", [v.width]) }
            try add(p + "attn.qkv.weight", [3 * v.width, v.width]); try add(p + "attn.qkv.bias", [3 * v.width])
            try add(p + "attn.proj.weight", [v.width, v.width]); try add(p + "attn.proj.bias", [v.width])
            try add(p + "mlp.linear_fc1.weight", [v.mlp, v.width]); try add(p + "mlp.linear_fc1.bias", [v.mlp])
            try add(p + "mlp.linear_fc2.weight", [v.width, v.mlp]); try add(p + "mlp.linear_fc2.bias", [v.width])
        }
        // The final merger normalizes each patch before the 2x2 shuffle (width W); the deepstack
        // mergers normalize after it (width 4W).
        let mergers = [("model.visual.merger.", v.width)] + v.deepstack.indices.map { ("model.visual.deepstack_merger_list.\($0).", merged) }
        for (p, normWidth) in mergers {
            try add(p + "norm.weight", [normWidth]); try add(p + "norm.bias", [normWidth])
            try add(p + "linear_fc1.weight", [merged, merged]); try add(p + "linear_fc1.bias", [merged])
            try add(p + "linear_fc2.weight", [l.hidden, merged]); try add(p + "linear_fc2.bias", [l.hidden])
        }
        let lm = "model.language_model."
        try add(lm + "embed_tokens.weight", [l.vocab, l.hidden])
        for i in 0..<l.layers {
            let p = lm + "layers.\(i)."
            try add(p + "self_attn.q_proj.weight", [l.heads * d, l.hidden])
            try add(p + "self_attn.k_proj.weight", [l.kvHeads * d, l.hidden])
            try add(p + "self_attn.v_proj.weight", [l.kvHeads * d, l.hidden])
            try add(p + "self_attn.o_proj.weight", [l.hidden, l.heads * d])
            try add(p + "self_attn.q_norm.weight", [d]); try add(p + "self_attn.k_norm.weight", [d])
            if let e = l.moe {
                // Fused experts as transformers stores them: [experts, in, out], no `.weight`.
                try add(p + "mlp.gate.weight", [e.experts, l.hidden])
                try add(p + "mlp.experts.gate_up_proj", [e.experts, l.hidden, 2 * e.ffn])
                try add(p + "mlp.experts.down_proj", [e.experts, e.ffn, l.hidden])
            } else {
                try add(p + "mlp.gate_proj.weight", [l.ffn, l.hidden])
                try add(p + "mlp.up_proj.weight", [l.ffn, l.hidden])
                try add(p + "mlp.down_proj.weight", [l.hidden, l.ffn])
            }
            try add(p + "input_layernorm.weight", [l.hidden]); try add(p + "post_attention_layernorm.weight", [l.hidden])
        }
        try add(lm + "norm.weight", [l.hidden])
        if !l.tied { try add("lm_head.weight", [l.vocab, l.hidden]) }
    }

    /// config.json as the Hub's Qwen3-VL(-MoE) checkpoints have it (keys sorted, as save_pretrained
    /// writes them): the LLM in `text_config`, the ViT in `vision_config`.
    func qwen3VLConfig() -> Value {
        let l = model.llm, v = model.vit, moe = model.family == .qwen3vlMoe
        let tok = Qwen3VLTokens(vocab: l.vocab)
        let half = l.headSize / 2
        // Rotary frequencies split between time, height and width (the real models: [24, 20, 20]).
        let mrope = l.headSize == 128 ? [24, 20, 20] : [half - 2 * (half / 4), half / 4, half / 4]
        var text: [(String, Value)] = [
            ("attention_bias", .bool(false)), ("attention_dropout", .float(0)), ("bos_token_id", .int(tok.bos)),
            ("dtype", .string("bfloat16")), ("eos_token_id", .int(tok.eos)), ("head_dim", .int(l.headSize)),
            ("hidden_act", .string("silu")), ("hidden_size", .int(l.hidden)), ("initializer_range", .float(0.02)),
            ("intermediate_size", .int(l.ffn)), ("max_position_embeddings", .int(262_144)),
            ("model_type", .string(moe ? "qwen3_vl_moe_text" : "qwen3_vl_text")), ("num_attention_heads", .int(l.heads)),
            ("num_hidden_layers", .int(l.layers)), ("num_key_value_heads", .int(l.kvHeads)), ("rms_norm_eps", .float(1e-6)),
            ("rope_scaling", .dict([("mrope_interleaved", .bool(true)), ("mrope_section", .list(mrope.map { .int($0) })),
                                    ("rope_type", .string("default"))])),
            ("rope_theta", .int(5_000_000)), ("tie_word_embeddings", .bool(l.tied)), ("use_cache", .bool(true)),
            ("vocab_size", .int(l.vocab)),
        ]
        if let e = l.moe {
            // Every layer sparse: decoder_sparse_step 1 and no mlp_only_layers, as in the 30B-A3B.
            text += [("decoder_sparse_step", .int(1)), ("mlp_only_layers", .list([])), ("moe_intermediate_size", .int(e.ffn)),
                     ("norm_topk_prob", .bool(true)), ("num_experts", .int(e.experts)), ("num_experts_per_tok", .int(e.topK)),
                     ("router_aux_loss_coef", .float(0.001))]
        }
        let vision: [(String, Value)] = [
            ("deepstack_visual_indexes", .list(v.deepstack.map { .int($0) })), ("depth", .int(v.depth)),
            ("hidden_act", .string("gelu_pytorch_tanh")), ("hidden_size", .int(v.width)), ("in_channels", .int(3)),
            ("initializer_range", .float(0.02)), ("intermediate_size", .int(v.mlp)),
            ("model_type", .string(moe ? "qwen3_vl_moe" : "qwen3_vl")), ("num_heads", .int(v.heads)),
            ("num_position_embeddings", .int(v.positions)), ("out_hidden_size", .int(l.hidden)), ("patch_size", .int(16)),
            ("spatial_merge_size", .int(2)), ("temporal_patch_size", .int(2)),
        ]
        return .dict([
            ("architectures", .list([.string(moe ? "Qwen3VLMoeForConditionalGeneration" : "Qwen3VLForConditionalGeneration")])),
            ("image_token_id", .int(tok.image)), ("model_type", .string(moe ? "qwen3_vl_moe" : "qwen3_vl")),
            ("text_config", .dict(text.sorted { $0.0 < $1.0 })), ("tie_word_embeddings", .bool(l.tied)),
            ("transformers_version", .string("4.57.0.dev0")), ("video_token_id", .int(tok.video)),
            ("vision_config", .dict(vision)), ("vision_end_token_id", .int(tok.visionEnd)),
            ("vision_start_token_id", .int(tok.visionStart)),
        ])
    }

    /// generation_config.json of the Instruct checkpoints (sampling on; pad and second eos are bos).
    func qwen3VLGenerationConfig() -> String {
        let tok = Qwen3VLTokens(vocab: model.llm.vocab)
        return JSONWriter(layout: .indented(2)).string(.dict([
            ("bos_token_id", .int(tok.bos)), ("do_sample", .bool(true)), ("eos_token_id", .list([.int(tok.eos), .int(tok.bos)])),
            ("pad_token_id", .int(tok.bos)), ("temperature", .float(0.7)), ("top_k", .int(20)), ("top_p", .float(0.8)),
            ("transformers_version", .string("4.57.0.dev0")),
        ])) + "\n"
    }
}

/// Special-token ids config.json names: Qwen's real ids with the real vocabulary, otherwise the
/// fixtures' places at the end of a small one (so every id is inside the embedding).
struct Qwen3VLTokens {
    let bos, eos, visionStart, visionEnd, image, video: Int

    init(vocab: Int) {
        if vocab >= 151_936 {
            (bos, eos, visionStart, visionEnd, image, video) = (151_643, 151_645, 151_652, 151_653, 151_655, 151_656)
        } else {
            (bos, eos, visionStart, visionEnd, image, video) = (vocab - 14, vocab - 12, vocab - 5, vocab - 4, vocab - 2, vocab - 1)
        }
    }
}
