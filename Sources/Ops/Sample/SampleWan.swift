/// Wan 2.x samples (diffusers `WanTransformer3DModel`, the `transformer/` folder of a
/// Wan2.1 / Wan2.2 diffusers release): presets, tensors and config.json.
///
/// `wan` is text-to-video, `wan_i2v` image-to-video (an image embedder and per-block
/// `add_k_proj` / `add_v_proj` / `norm_added_k`). The tiny presets are the shapes of the shared
/// fixtures `sora/wan_t2v_vpp2` and `sora/wan_i2v_tp1` (width 16 = 2 heads x 8, FFN 32, 4 blocks);
/// the others are the releases' (Wan2.1-T2V-1.3B, Wan2.1-T2V-14B, Wan2.1-I2V-14B-480P).
/// Files as diffusers writes them: `diffusion_pytorch_model[-0000k-of-0000n].safetensors`, with
/// `diffusion_pytorch_model.safetensors.index.json` when sharded.
public struct WanShape: Sendable {
    public var heads, headDim, ffn, layers, textDim, freqDim, inChannels, outChannels: Int
    /// The image embedder's input width and the per-block image key/value width (I2V / FLF2V).
    public var imageDim: Int? = nil
    public var addedKVDim: Int? = nil

    public var width: Int { heads * headDim }
}

extension SampleModel {
    static func wanPreset(_ family: SampleFamily, size: String) throws -> SampleModel {
        func model(_ w: WanShape, shard: Int) -> SampleModel {
            var m = SampleModel(family: family, llm: .init(hidden: w.width, layers: w.layers, heads: w.heads, kvHeads: w.heads, ffn: w.ffn, vocab: 0, tied: false),
                                vit: .init(width: 0, depth: 0, heads: 0, mlp: 0), maxShardBytes: shard)
            m.wan = w
            return m
        }
        switch (family, size) {
        case (.wan, "tiny"):  // sora/wan_t2v_vpp2 (two shards, cut elsewhere than the fixture's)
            return model(.init(heads: 2, headDim: 8, ffn: 32, layers: 4, textDim: 12, freqDim: 8, inChannels: 4, outChannels: 4), shard: 33_184)
        case (.wan, "1.3b"):  // Wan2.1-T2V-1.3B-Diffusers
            return model(.init(heads: 12, headDim: 128, ffn: 8960, layers: 30, textDim: 4096, freqDim: 256, inChannels: 16, outChannels: 16), shard: 5_000_000_000)
        case (.wan, "5b"):  // Wan2.2-TI2V-5B-Diffusers (48 latent channels: the Wan2.2 VAE)
            return model(.init(heads: 24, headDim: 128, ffn: 14336, layers: 30, textDim: 4096, freqDim: 256, inChannels: 48, outChannels: 48), shard: 5_000_000_000)
        case (.wan, "14b"):  // Wan2.1-T2V-14B-Diffusers
            return model(.init(heads: 40, headDim: 128, ffn: 13824, layers: 40, textDim: 4096, freqDim: 256, inChannels: 16, outChannels: 16), shard: 5_000_000_000)
        case (.wanI2V, "tiny"):  // sora/wan_i2v_tp1
            return model(.init(heads: 2, headDim: 8, ffn: 32, layers: 4, textDim: 12, freqDim: 8, inChannels: 12, outChannels: 4,
                               imageDim: 12, addedKVDim: 16), shard: 39_528)
        case (.wanI2V, "14b"):  // Wan2.1-I2V-14B-480P-Diffusers
            return model(.init(heads: 40, headDim: 128, ffn: 13824, layers: 40, textDim: 4096, freqDim: 256, inChannels: 36, outChannels: 16,
                               imageDim: 1280, addedKVDim: 5120), shard: 5_000_000_000)
        default:
            throw unknownSize(family, size)
        }
    }
}

extension SampleGenerator {
    /// The tensors of WanTransformer3DModel, in its module order.
    func addWan(_ m: inout TensorMap) throws {
        guard let w = model.wan else { throw OpsError.invalid("a Wan sample needs its shape") }
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        func linear(_ name: String, _ out: Int, _ inp: Int) throws { try add(name + ".weight", [out, inp]); try add(name + ".bias", [out]) }
        let d = w.width
        try add("patch_embedding.weight", [d, w.inChannels, 1, 2, 2]); try add("patch_embedding.bias", [d])
        try linear("condition_embedder.time_embedder.linear_1", d, w.freqDim)
        try linear("condition_embedder.time_embedder.linear_2", d, d)
        try linear("condition_embedder.time_proj", 6 * d, d)
        try linear("condition_embedder.text_embedder.linear_1", d, w.textDim)
        try linear("condition_embedder.text_embedder.linear_2", d, d)
        if let img = w.imageDim {
            let p = "condition_embedder.image_embedder."
            try add(p + "norm1.weight", [img]); try add(p + "norm1.bias", [img])
            try linear(p + "ff.net.0.proj", img, img)
            try linear(p + "ff.net.2", d, img)
            try add(p + "norm2.weight", [d]); try add(p + "norm2.bias", [d])
        }
        for l in 0..<w.layers {
            let p = "blocks.\(l)."
            try add(p + "scale_shift_table", [1, 6, d])
            for a in ["attn1", "attn2"] {
                for x in ["to_q", "to_k", "to_v", "to_out.0"] { try linear(p + a + "." + x, d, d) }
                try add(p + a + ".norm_q.weight", [d]); try add(p + a + ".norm_k.weight", [d])
            }
            if let kv = w.addedKVDim {
                try linear(p + "attn2.add_k_proj", d, kv)
                try linear(p + "attn2.add_v_proj", d, kv)
                try add(p + "attn2.norm_added_k.weight", [d])
            }
            try add(p + "norm2.weight", [d]); try add(p + "norm2.bias", [d])
            try linear(p + "ffn.net.0.proj", w.ffn, d)
            try linear(p + "ffn.net.2", d, w.ffn)
        }
        try add("scale_shift_table", [1, 2, d])
        try linear("proj_out", w.outChannels * 4, d)
    }

    /// config.json as diffusers writes it (keys sorted).
    func wanConfig() -> Value {
        let w = model.wan!
        return SampleGenerator.sortedKeys(.dict([
            ("_class_name", .string("WanTransformer3DModel")), ("_diffusers_version", .string("0.33.0.dev0")),
            ("added_kv_proj_dim", w.addedKVDim.map { .int($0) } ?? .null), ("attention_head_dim", .int(w.headDim)),
            ("cross_attn_norm", .bool(true)), ("eps", .float(1e-6)), ("ffn_dim", .int(w.ffn)), ("freq_dim", .int(w.freqDim)),
            ("image_dim", w.imageDim.map { .int($0) } ?? .null), ("in_channels", .int(w.inChannels)),
            ("num_attention_heads", .int(w.heads)), ("num_layers", .int(w.layers)), ("out_channels", .int(w.outChannels)),
            ("patch_size", .list([.int(1), .int(2), .int(2)])), ("qk_norm", .string("rms_norm_across_heads")),
            ("rope_max_seq_len", .int(1024)), ("text_dim", .int(w.textDim)),
        ]))
    }
}
