/// CogVideoX samples (diffusers `CogVideoXTransformer3DModel`, the `transformer/` folder of a
/// CogVideoX 1.5 diffusers release): presets, tensors and config.json. The tiny preset is the
/// model of the shared fixture `sora/cogvideox_tp2_pp2` (width 8 = 2 heads x 4, 42 blocks, time
/// embedding 6); `5b` is CogVideoX1.5-5B (48 heads x 64, 42 blocks).
public struct CogVideoXShape: Sendable {
    public var heads, headDim, layers, timeDim, textDim, inChannels, outChannels: Int
    public var sampleSize: Int
    public var width: Int { heads * headDim }
}

extension SampleModel {
    static func cogVideoXPreset(size: String) throws -> SampleModel {
        let shape: CogVideoXShape
        switch size {
        case "tiny": shape = .init(heads: 2, headDim: 4, layers: 42, timeDim: 6, textDim: 12, inChannels: 4, outChannels: 4, sampleSize: 8)
        case "5b": shape = .init(heads: 48, headDim: 64, layers: 42, timeDim: 512, textDim: 4096, inChannels: 16, outChannels: 16, sampleSize: 300)
        default: throw unknownSize(.cogvideox, size)
        }
        var m = SampleModel(family: .cogvideox, llm: .init(hidden: shape.width, layers: shape.layers, heads: shape.heads, kvHeads: shape.heads, ffn: 4 * shape.width, vocab: 0, tied: false),
                            vit: .init(width: 0, depth: 0, heads: 0, mlp: 0), maxShardBytes: 5_000_000_000)
        m.cogvideox = shape
        return m
    }
}

extension SampleGenerator {
    /// The tensors of CogVideoXTransformer3DModel (1.5: temporal patches of 2), in module order.
    func addCogVideoX(_ m: inout TensorMap) throws {
        guard let c = model.cogvideox else { throw OpsError.invalid("a CogVideoX sample needs its shape") }
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        func linear(_ name: String, _ out: Int, _ inp: Int) throws { try add(name + ".weight", [out, inp]); try add(name + ".bias", [out]) }
        func norm(_ name: String, _ n: Int) throws { try add(name + ".weight", [n]); try add(name + ".bias", [n]) }
        let d = c.width, patch = 2 * 2 * 2
        try add("patch_embed.proj.weight", [d, c.inChannels * patch]); try add("patch_embed.proj.bias", [d])
        try linear("patch_embed.text_proj", d, c.textDim)
        try linear("time_embedding.linear_1", c.timeDim, d)
        try linear("time_embedding.linear_2", c.timeDim, c.timeDim)
        for l in 0..<c.layers {
            let p = "transformer_blocks.\(l)."
            try linear(p + "norm1.linear", 6 * d, c.timeDim); try norm(p + "norm1.norm", d)
            for x in ["to_q", "to_k", "to_v", "to_out.0"] { try linear(p + "attn1." + x, d, d) }
            try norm(p + "attn1.norm_q", c.headDim); try norm(p + "attn1.norm_k", c.headDim)
            try linear(p + "norm2.linear", 6 * d, c.timeDim); try norm(p + "norm2.norm", d)
            try linear(p + "ff.net.0.proj", 4 * d, d); try linear(p + "ff.net.2", d, 4 * d)
        }
        try norm("norm_final", d)
        try linear("norm_out.linear", 2 * d, c.timeDim); try norm("norm_out.norm", d)
        try linear("proj_out", c.outChannels * patch, d)
    }

    /// config.json as diffusers writes it (keys sorted).
    func cogVideoXConfig() -> Value {
        let c = model.cogvideox!
        return SampleGenerator.sortedKeys(.dict([
            ("_class_name", .string("CogVideoXTransformer3DModel")), ("_diffusers_version", .string("0.32.0.dev0")),
            ("activation_fn", .string("gelu-approximate")), ("attention_bias", .bool(true)), ("attention_head_dim", .int(c.headDim)),
            ("dropout", .float(0)), ("flip_sin_to_cos", .bool(true)), ("freq_shift", .int(0)), ("in_channels", .int(c.inChannels)),
            ("max_text_seq_length", .int(224)), ("norm_elementwise_affine", .bool(true)), ("norm_eps", .float(1e-5)),
            ("num_attention_heads", .int(c.heads)), ("num_layers", .int(c.layers)), ("ofs_embed_dim", .null),
            ("out_channels", .int(c.outChannels)), ("patch_bias", .bool(false)), ("patch_size", .int(2)), ("patch_size_t", .int(2)),
            ("sample_frames", .int(81)), ("sample_height", .int(c.sampleSize)), ("sample_width", .int(c.sampleSize)),
            ("spatial_interpolation_scale", .float(1.875)), ("temporal_compression_ratio", .int(4)),
            ("temporal_interpolation_scale", .float(1.0)), ("text_embed_dim", .int(c.textDim)), ("time_embed_dim", .int(c.timeDim)),
            ("timestep_activation_fn", .string("silu")), ("use_learned_positional_embeddings", .bool(false)),
            ("use_rotary_positional_embeddings", .bool(true)),
        ]))
    }
}
