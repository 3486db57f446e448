/// Multi-head latent attention dimensions (DeepSeek-V2): queries either directly (`q_proj`, when
/// `qLoraRank` is nil) or through a rank-`qLoraRank` bottleneck; keys and values through one
/// rank-`kvLoraRank` latent plus a shared `qkRope`-wide rotary key.
public struct MLAShape: Sendable {
    public var qLoraRank: Int?
    public var kvLoraRank, qkNope, qkRope, vHead: Int
}

/// DeepSeek-VL2 samples (DeepseekVLV2ForCausalLM): presets, tensors and config.json.
///
/// Three parts, as the Hub checkpoints name them: a timm SigLIP ViT under `vision.` (learned
/// `pos_embed`, fused qkv, LayerNorms and linears all with biases, a final `norm` and the `map`
/// attention-pool head `attn_pool`), the `downsample_mlp_gelu` projector (`projector.layers.{0,2}`,
/// input 2x2 patches of the ViT width), the `image_newline` / `view_seperator` vectors of the 2D
/// tiling, and a DeepSeek-V2 LLM under `language.` with MLA attention, `MoEShape.firstDense` dense
/// layers, then MoE layers with routed experts, shared experts (one MLP `shared x
/// moe_intermediate_size` wide) and a router that has `e_score_correction_bias` only with
/// topk_method noaux_tc (`MoEShape.correctionBias`; the fixture and DeepSeek-VL2 itself, not
/// DeepSeek-VL2-Small, which routes greedily with softmax).
extension SampleModel {
    static func deepSeekVL2Preset(size: String) throws -> SampleModel {
        switch size {
        case "tiny":  // /work/shared/fixtures/hf/deepseekvl2 (image_size 56: 4 x 4 positions)
            return .init(family: .deepseekvl2,
                         llm: .init(hidden: 32, layers: 3, heads: 4, kvHeads: 4, ffn: 64, vocab: 256, tied: false,
                                    moe: .init(experts: 4, ffn: 16, topK: 2, shared: 2, firstDense: 1, correctionBias: true),
                                    mla: .init(qLoraRank: nil, kvLoraRank: 16, qkNope: 8, qkRope: 4, vHead: 8)),
                         vit: .init(width: 8, depth: 2, heads: 2, mlp: 24, positions: 16), maxShardBytes: 70_000)
        case "small":  // DeepSeek-VL2-Small (SigLIP-SO400M-384: 27 x 27 positions; DeepSeekMoE-16B LLM)
            return .init(family: .deepseekvl2,
                         llm: .init(hidden: 2048, layers: 27, heads: 16, kvHeads: 16, ffn: 10944, vocab: 102_400, tied: false,
                                    moe: .init(experts: 64, ffn: 1408, topK: 6, shared: 2, firstDense: 1, correctionBias: false),
                                    mla: .init(qLoraRank: nil, kvLoraRank: 512, qkNope: 128, qkRope: 64, vHead: 128)),
                         vit: .init(width: 1152, depth: 27, heads: 16, mlp: 4304, positions: 729, mlpRatio: 3.7362, imageSize: 384),
                         maxShardBytes: 4_000_000_000)
        default:
            throw unknownSize(.deepseekvl2, size)
        }
    }
}

extension SampleGenerator {
    /// The tensors of DeepseekVLV2ForCausalLM, in its module order.
    func addDeepSeekVL2(_ m: inout TensorMap) throws {
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        let l = model.llm, v = model.vit
        guard let mla = l.mla, let moe = l.moe else { throw OpsError.invalid("a deepseekvl2 sample needs MLA and MoE shapes") }

        try add("vision.pos_embed", [1, v.positions, v.width])
        try add("vision.patch_embed.proj.weight", [v.width, 3, 14, 14]); try add("vision.patch_embed.proj.bias", [v.width])
        func linear(_ p: String, _ out: Int, _ inp: Int) throws { try add(p + ".weight", [out, inp]); try add(p + ".bias", [out]) }
        func norm(_ p: String) throws { try add(p + ".weight", [v.width]); try add(p + ".bias", [v.width]) }
        for i in 0..<v.depth {
            let p = "vision.blocks.\(i)."
            try norm(p + "norm1")
            try linear(p + "attn.qkv", 3 * v.width, v.width); try linear(p + "attn.proj", v.width, v.width)
            try norm(p + "norm2")
            try linear(p + "mlp.fc1", v.mlp, v.width); try linear(p + "mlp.fc2", v.width, v.mlp)
        }
        try norm("vision.norm")
        try add("vision.attn_pool.latent", [1, 1, v.width])
        try linear("vision.attn_pool.q", v.width, v.width); try linear("vision.attn_pool.kv", 2 * v.width, v.width)
        try linear("vision.attn_pool.proj", v.width, v.width)
        try norm("vision.attn_pool.norm")
        try linear("vision.attn_pool.mlp.fc1", v.mlp, v.width); try linear("vision.attn_pool.mlp.fc2", v.width, v.mlp)

        // downsample_mlp_gelu, depth 2, mlp_ratio 1: 2x2 patches -> n_embed -> n_embed.
        try linear("projector.layers.0", l.hidden, 4 * v.width); try linear("projector.layers.2", l.hidden, l.hidden)
        try add("image_newline", [l.hidden]); try add("view_seperator", [l.hidden])

        let lm = "language.model."
        try add(lm + "embed_tokens.weight", [l.vocab, l.hidden])
        for i in 0..<l.layers {
            let p = lm + "layers.\(i)."
            let qHead = mla.qkNope + mla.qkRope
            if let r = mla.qLoraRank {
                try add(p + "self_attn.q_a_proj.weight", [r, l.hidden]); try add(p + "self_attn.q_a_layernorm.weight", [r])
                try add(p + "self_attn.q_b_proj.weight", [l.heads * qHead, r])
            } else {
                try add(p + "self_attn.q_proj.weight", [l.heads * qHead, l.hidden])
            }
            try add(p + "self_attn.kv_a_proj_with_mqa.weight", [mla.kvLoraRank + mla.qkRope, l.hidden])
            try add(p + "self_attn.kv_a_layernorm.weight", [mla.kvLoraRank])
            try add(p + "self_attn.kv_b_proj.weight", [l.heads * (mla.qkNope + mla.vHead), mla.kvLoraRank])
            try add(p + "self_attn.o_proj.weight", [l.hidden, l.heads * mla.vHead])
            func mlp(_ q: String, _ width: Int) throws {
                try add(q + "gate_proj.weight", [width, l.hidden]); try add(q + "up_proj.weight", [width, l.hidden])
                try add(q + "down_proj.weight", [l.hidden, width])
            }
            if i < moe.firstDense {
                try mlp(p + "mlp.", l.ffn)
            } else {
                for e in 0..<moe.experts { try mlp(p + "mlp.experts.\(e).", moe.ffn) }
                try add(p + "mlp.gate.weight", [moe.experts, l.hidden])
                if moe.correctionBias { try add(p + "mlp.gate.e_score_correction_bias", [moe.experts]) }
                if moe.shared > 0 { try mlp(p + "mlp.shared_experts.", moe.shared * moe.ffn) }
            }
            try add(p + "input_layernorm.weight", [l.hidden]); try add(p + "post_attention_layernorm.weight", [l.hidden])
        }
        try add(lm + "norm.weight", [l.hidden])
        if !l.tied { try add("language.lm_head.weight", [l.vocab, l.hidden]) }
    }

    /// config.json of the Hub's DeepSeek-VL2 checkpoints (keys sorted): `vision_config`,
    /// `projector_config`, `language_config` and the tiling fields.
    func deepSeekVL2Config() -> Value {
        let l = model.llm, v = model.vit
        let mla = l.mla ?? MLAShape(qLoraRank: nil, kvLoraRank: 0, qkNope: 0, qkRope: 0, vHead: 0)
        let moe = l.moe ?? MoEShape(experts: 0, ffn: 0, topK: 0)
        let imageSize = v.imageSize ?? Int(Double(v.positions).squareRoot()) * 14
        // noaux_tc routing (sigmoid scores, a correction bias, scaled weights) or DeepSeekMoE's greedy softmax.
        let (topk, scoring, scaling) = moe.correctionBias ? ("noaux_tc", "sigmoid", 2.0) : ("greedy", "softmax", 1.0)
        // The 384-pixel tiles of the real models: every m x n grid of at most 9 tiles.
        let resolutions = imageSize == 384
            ? (1...9).flatMap { m in (1...9).filter { m * $0 <= 9 }.map { [m * 384, $0 * 384] } }
            : [[imageSize, imageSize]]
        let language: [(String, Value)] = [
            ("architectures", .list([.string("DeepseekV2ForCausalLM")])), ("bos_token_id", .int(0)), ("eos_token_id", .int(1)),
            ("first_k_dense_replace", .int(moe.firstDense)), ("hidden_size", .int(l.hidden)), ("intermediate_size", .int(l.ffn)),
            ("kv_lora_rank", .int(mla.kvLoraRank)), ("lm_head", .bool(!l.tied)), ("max_position_embeddings", .int(4096)),
            ("model_type", .string("deepseek_v2")), ("moe_intermediate_size", .int(moe.ffn)), ("n_group", .int(1)),
            ("n_routed_experts", .int(moe.experts)), ("n_shared_experts", .int(moe.shared)), ("num_attention_heads", .int(l.heads)),
            ("num_experts_per_tok", .int(moe.topK)), ("num_hidden_layers", .int(l.layers)), ("num_key_value_heads", .int(l.kvHeads)),
            ("q_lora_rank", mla.qLoraRank.map { .int($0) } ?? .null), ("qk_nope_head_dim", .int(mla.qkNope)),
            ("qk_rope_head_dim", .int(mla.qkRope)), ("rm_head", .bool(false)), ("routed_scaling_factor", .float(scaling)),
            ("scoring_func", .string(scoring)), ("tie_word_embeddings", .bool(l.tied)), ("topk_group", .int(1)),
            ("topk_method", .string(topk)), ("torch_dtype", .string("bfloat16")), ("use_mla", .bool(true)),
            ("v_head_dim", .int(mla.vHead)), ("vocab_size", .int(l.vocab)),
        ]
        let projector: [(String, Value)] = [
            ("depth", .int(2)), ("downsample_ratio", .int(2)), ("input_dim", .int(v.width)), ("mlp_ratio", .int(1)),
            ("model_type", .string("mlp_projector")), ("n_embed", .int(l.hidden)), ("projector_type", .string("downsample_mlp_gelu")),
            ("token_pooling", .bool(false)),
        ]
        let vision: [(String, Value)] = [
            ("class_token", .bool(false)), ("deterministic", .bool(false)), ("global_pool", .string("map")), ("heads", .int(v.heads)),
            ("ignore_head", .bool(true)), ("image_size", .int(imageSize)), ("layers", .int(v.depth)),
            ("mlp_ratio", .float(v.mlpRatio ?? Double(v.mlp) / Double(v.width))), ("model_name", .string("siglip_so400m_patch14_384")),
            ("model_type", .string("vision")), ("num_classes", .int(0)), ("num_recomputing_layers", .int(0)), ("patch_size", .int(14)),
            ("use_checkpoint", .bool(false)), ("weight_init", .string("skip")), ("width", .int(v.width)),
        ]
        return SampleGenerator.sortedKeys(.dict([
            ("architectures", .list([.string("DeepseekVLV2ForCausalLM")])),
            ("candidate_resolutions", .list(resolutions.map { .list($0.map { .int($0) }) })), ("global_view_pos", .string("head")),
            ("language_config", .dict(language)), ("model_type", .string("deepseek_vl_v2")), ("projector_config", .dict(projector)),
            ("tile_tag", .string("2D")), ("torch_dtype", .string("bfloat16")), ("transformers_version", .string("4.38.2")),
            ("vision_config", .dict(vision)),
        ]))
    }

    func deepSeekVL2GenerationConfig() -> String {
        JSONWriter(layout: .indented(2)).string(.dict([
            ("bos_token_id", .int(0)), ("eos_token_id", .int(1)), ("transformers_version", .string("4.38.2")),
        ])) + "\n"
    }
}
