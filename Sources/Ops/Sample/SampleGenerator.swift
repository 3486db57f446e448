/// Builds the tensors and config.json of a sample model (lazily: see `RandomPool`).
public struct SampleGenerator {
    public let model: SampleModel
    let pool: RandomPool

    public init(model: SampleModel, seed: UInt64 = 0) {
        self.model = model
        // Real and benchmark shapes get a pool large enough that repeated values are far apart.
        let big = model.llm.hidden >= 1024 || model.maxShardBytes >= 100 << 20
        pool = RandomPool(dtype: .bf16, bytes: big ? 64 << 20 : 1 << 20, seed: seed)
    }

    public func tensors() throws -> TensorMap {
        var m = TensorMap()
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        let l = model.llm, v = model.vit
        let d = l.hidden / l.heads
        switch model.family {
        case .qwen2vl, .qwen2_5vl:
            try addQwen2VL(&m)
        case .internvl, .internvlLlama, .internvlInternLM2:
            try add("vision_model.embeddings.class_embedding", [1, 1, v.width])
            try add("vision_model.embeddings.patch_embedding.weight", [v.width, 3, 14, 14])
            try add("vision_model.embeddings.patch_embedding.bias", [v.width])
            try add("vision_model.embeddings.position_embedding", [1, 1025, v.width])
            for i in 0..<v.depth {
                let p = "vision_model.encoder.layers.\(i)."
                try add(p + "attn.qkv.weight", [3 * v.width, v.width]); try add(p + "attn.qkv.bias", [3 * v.width])
                try add(p + "attn.proj.weight", [v.width, v.width]); try add(p + "attn.proj.bias", [v.width])
                try add(p + "ls1", [v.width]); try add(p + "ls2", [v.width])
                try add(p + "mlp.fc1.weight", [v.mlp, v.width]); try add(p + "mlp.fc1.bias", [v.mlp])
                try add(p + "mlp.fc2.weight", [v.width, v.mlp]); try add(p + "mlp.fc2.bias", [v.width])
                for n in ["norm1", "norm2"] { try add(p + n + ".weight", [v.width]); try add(p + n + ".bias", [v.width]) }
            }
            let merged = v.width * 4
            try add("mlp1.0.weight", [merged]); try add("mlp1.0.bias", [merged])
            try add("mlp1.1.weight", [l.hidden, merged]); try add("mlp1.1.bias", [l.hidden])
            try add("mlp1.3.weight", [l.hidden, l.hidden]); try add("mlp1.3.bias", [l.hidden])
            if model.family == .internvlInternLM2 {
                let p = "language_model.model."
                try add(p + "tok_embeddings.weight", [l.vocab, l.hidden])
                for i in 0..<l.layers {
                    let q = p + "layers.\(i)."
                    try add(q + "attention.wqkv.weight", [(l.heads + 2 * l.kvHeads) * d, l.hidden])
                    try add(q + "attention.wo.weight", [l.hidden, l.hidden])
                    try add(q + "feed_forward.w1.weight", [l.ffn, l.hidden])
                    try add(q + "feed_forward.w3.weight", [l.ffn, l.hidden])
                    try add(q + "feed_forward.w2.weight", [l.hidden, l.ffn])
                    try add(q + "attention_norm.weight", [l.hidden]); try add(q + "ffn_norm.weight", [l.hidden])
                }
                try add(p + "norm.weight", [l.hidden])
                if !l.tied { try add("language_model.output.weight", [l.vocab, l.hidden]) }
            } else {
                try addQwenLLM(&m, prefix: "language_model.model.", head: l.tied ? nil : "language_model.lm_head.weight",
                               bias: model.family == .internvl, d: d)
            }
        case .qwen3vl, .qwen3vlMoe:
            try addQwen3VL(&m)
        case .glm4v:
            try addGlm4v(&m)
        case .qwen2_5omni:
            try addQwen2_5Omni(&m)
        case .deepseekvl2:
            try addDeepSeekVL2(&m)
        case .videoalign:
            try addVideoAlign(&m)
        case .wan, .wanI2V:
            try addWan(&m)
        case .cogvideox:
            try addCogVideoX(&m)
        case .vace:
            try addVACE(&m)
        case .hunyuanvideo:
            try addHunyuanVideo(&m)
        }
        return m
    }

    /// Qwen2-VL / Qwen2.5-VL: the ViT under `visual`, the LLM under `text` (VideoAlign passes the newer
    /// `model.visual.` / `model.language_model.` layout).
    func addQwen2VL(_ m: inout TensorMap, visual: String = "visual.", text: String = "model.") throws {
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        let l = model.llm, v = model.vit
        let d = l.hidden / l.heads
        let qwen25 = model.family == .qwen2_5vl
        try add(visual + "patch_embed.proj.weight", [v.width, 3, 2, 14, 14])
        for i in 0..<v.depth {
            let p = visual + "blocks.\(i)."
            for n in ["norm1", "norm2"] {
                try add(p + n + ".weight", [v.width])
                if !qwen25 { try add(p + n + ".bias", [v.width]) }
            }
            try add(p + "attn.qkv.weight", [3 * v.width, v.width]); try add(p + "attn.qkv.bias", [3 * v.width])
            try add(p + "attn.proj.weight", [v.width, v.width]); try add(p + "attn.proj.bias", [v.width])
            if qwen25 {
                for n in ["gate_proj", "up_proj"] { try add(p + "mlp.\(n).weight", [v.mlp, v.width]); try add(p + "mlp.\(n).bias", [v.mlp]) }
                try add(p + "mlp.down_proj.weight", [v.width, v.mlp]); try add(p + "mlp.down_proj.bias", [v.width])
            } else {
                try add(p + "mlp.fc1.weight", [v.mlp, v.width]); try add(p + "mlp.fc1.bias", [v.mlp])
                try add(p + "mlp.fc2.weight", [v.width, v.mlp]); try add(p + "mlp.fc2.bias", [v.width])
            }
        }
        let merged = v.width * 4
        try add(visual + "merger.ln_q.weight", [v.width])
        if !qwen25 { try add(visual + "merger.ln_q.bias", [v.width]) }
        try add(visual + "merger.mlp.0.weight", [merged, merged]); try add(visual + "merger.mlp.0.bias", [merged])
        try add(visual + "merger.mlp.2.weight", [l.hidden, merged]); try add(visual + "merger.mlp.2.bias", [l.hidden])
        try addQwenLLM(&m, prefix: text, head: l.tied ? nil : "lm_head.weight", bias: true, d: d)
    }

    /// The Qwen2 / Llama decoder layout shared by Qwen2-VL, Qwen2.5-VL and InternVL's Qwen2/Llama backbones.
    func addQwenLLM(_ m: inout TensorMap, prefix: String, head: String?, bias: Bool, d: Int) throws {
        let l = model.llm
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        try add(prefix + "embed_tokens.weight", [l.vocab, l.hidden])
        for i in 0..<l.layers {
            let p = prefix + "layers.\(i)."
            try add(p + "input_layernorm.weight", [l.hidden])
            try add(p + "self_attn.q_proj.weight", [l.heads * d, l.hidden])
            try add(p + "self_attn.k_proj.weight", [l.kvHeads * d, l.hidden])
            try add(p + "self_attn.v_proj.weight", [l.kvHeads * d, l.hidden])
            if bias {
                try add(p + "self_attn.q_proj.bias", [l.heads * d])
                try add(p + "self_attn.k_proj.bias", [l.kvHeads * d])
                try add(p + "self_attn.v_proj.bias", [l.kvHeads * d])
            }
            try add(p + "self_attn.o_proj.weight", [l.hidden, l.heads * d])
            try add(p + "post_attention_layernorm.weight", [l.hidden])
            try add(p + "mlp.gate_proj.weight", [l.ffn, l.hidden])
            try add(p + "mlp.up_proj.weight", [l.ffn, l.hidden])
            try add(p + "mlp.down_proj.weight", [l.hidden, l.ffn])
        }
        try add(prefix + "norm.weight", [l.hidden])
        if let head { try add(head, [l.vocab, l.hidden]) }
    }

    /// config.json with the fields the real Hub checkpoint has (and the converters read).
    public func config() -> Value {
        let l = model.llm, v = model.vit
        let llmFields: [(String, Value)] = [
            ("hidden_act", .string("silu")), ("hidden_size", .int(l.hidden)), ("intermediate_size", .int(l.ffn)),
            ("max_position_embeddings", .int(32768)), ("num_attention_heads", .int(l.heads)),
            ("num_hidden_layers", .int(l.layers)), ("num_key_value_heads", .int(l.kvHeads)),
            ("rms_norm_eps", .float(1e-6)), ("rope_theta", .float(1_000_000)),
            ("tie_word_embeddings", .bool(l.tied)), ("torch_dtype", .string("bfloat16")), ("vocab_size", .int(l.vocab)),
        ]
        switch model.family {
        case .qwen2vl, .videoalign:
            return .dict([("architectures", .list([.string("Qwen2VLForConditionalGeneration")])), ("model_type", .string("qwen2_vl"))]
                + llmFields + [("vision_config", .dict([
                    ("depth", .int(v.depth)), ("embed_dim", .int(v.width)), ("mlp_ratio", .int(v.mlp / v.width)),
                    ("num_heads", .int(v.heads)), ("in_chans", .int(3)), ("hidden_size", .int(l.hidden)),
                    ("patch_size", .int(14)), ("spatial_merge_size", .int(2)), ("temporal_patch_size", .int(2)),
                ]))])
        case .qwen2_5vl:
            return .dict([("architectures", .list([.string("Qwen2_5_VLForConditionalGeneration")])), ("model_type", .string("qwen2_5_vl"))]
                + llmFields + [("vision_config", .dict([
                    ("depth", .int(v.depth)), ("hidden_act", .string("silu")), ("hidden_size", .int(v.width)),
                    ("intermediate_size", .int(v.mlp)), ("num_heads", .int(v.heads)), ("in_chans", .int(3)),
                    ("out_hidden_size", .int(l.hidden)), ("patch_size", .int(14)), ("spatial_merge_size", .int(2)),
                    ("temporal_patch_size", .int(2)), ("window_size", .int(112)),
                    ("fullatt_block_indexes", .list([7, 15, 23, 31].map { .int($0) })),
                ]))])
        case .internvl, .internvlLlama, .internvlInternLM2:
            // The backbone as the Hub's llm_config names it (InternLM2 also states it has no biases).
            let (arch, type, extra): (String, String, [(String, Value)]) = switch model.family {
            case .internvlLlama: ("LlamaForCausalLM", "llama", [])
            case .internvlInternLM2: ("InternLM2ForCausalLM", "internlm2", [("bias", .bool(false))])
            default: ("Qwen2ForCausalLM", "qwen2", [])
            }
            return .dict([
                ("architectures", .list([.string("InternVLChatModel")])), ("downsample_ratio", .float(0.5)),
                ("llm_config", .dict([("architectures", .list([.string(arch)]))] + extra + llmFields + [("model_type", .string(type))])),
                ("model_type", .string("internvl_chat")), ("template", .string("internvl2_5")),
                ("vision_config", .dict([
                    ("architectures", .list([.string("InternVisionModel")])), ("hidden_size", .int(v.width)),
                    ("intermediate_size", .int(v.mlp)), ("model_type", .string("intern_vit_6b")), ("norm_type", .string("layer_norm")),
                    ("num_attention_heads", .int(v.heads)), ("num_hidden_layers", .int(v.depth)), ("patch_size", .int(14)),
                    ("qk_normalization", .bool(false)), ("qkv_bias", .bool(true)),
                ])),
            ])
        case .qwen3vl, .qwen3vlMoe:
            return qwen3VLConfig()
        case .glm4v:
            return glm4vConfig()
        case .qwen2_5omni:
            return qwen2_5OmniConfig()
        case .deepseekvl2:
            return deepSeekVL2Config()
        case .wan, .wanI2V:
            return wanConfig()
        case .cogvideox:
            return cogVideoXConfig()
        case .vace:
            return vaceConfig()
        case .hunyuanvideo:
            return .null  // the release has no config.json for the DiT
        }
    }

    /// Side files a real checkpoint ships next to the weights (copied unchanged by conversions).
    public func sideFiles() -> [(String, String)] {
        // A diffusers transformer folder holds config.json and the weights only.
        if model.family.isDiffusers || model.family.torchFile != nil { return [] }
        let generation = switch model.family {
        case .qwen3vl, .qwen3vlMoe: qwen3VLGenerationConfig()
        case .glm4v: glm4vGenerationConfig()
        case .qwen2_5omni: qwen2_5OmniGenerationConfig()
        case .deepseekvl2: deepSeekVL2GenerationConfig()
        default: "{\n  \"do_sample\": false,\n  \"transformers_version\": \"4.41.2\"\n}\n"
        }
        return [("generation_config.json", generation),
                ("README.md", "# Sample \(model.family.rawValue) checkpoint\n\nGenerated by `mm-convert sample`: random weights with the real tensor names and config fields. Not a usable model.\n")]
    }

    /// A config value with every dict's keys in Python's sorted order, as `save_pretrained` writes them.
    static func sortedKeys(_ v: Value) -> Value {
        switch v {
        case let .dict(pairs): return .dict(pairs.map { ($0.0, sortedKeys($0.1)) }.sorted { JSONWriter.codePointLess($0.0, $1.0) })
        case let .list(items): return .list(items.map(sortedKeys))
        default: return v
        }
    }
}
