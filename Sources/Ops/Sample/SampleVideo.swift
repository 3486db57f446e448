/// Wan-VACE and HunyuanVideo samples, as their releases ship them.
///
/// `vace`: the original Wan2.1-VACE folder (`VaceWanModel`: config.json and one
/// `diffusion_pytorch_model.safetensors`, original Wan names plus `vace_blocks.{j}` and
/// `vace_patch_embedding`); tiny = the shared fixture `sora/vace_roundtrip`, 1.3b = Wan2.1-VACE-1.3B.
/// `hunyuanvideo`: the original HunyuanVideo t2v DiT, `transformers/mp_rank_00_model_states.pt`
/// = `{"module": state dict}` (no config.json); tiny = the shapes of HunyuanVideoConverterTests
/// (width 8, MLP 32, 2 + 2 blocks), 720p = hunyuan-video-t2v-720p (width 3072 = 24 heads x 128,
/// MLP 12288, 20 double and 40 single blocks, 12.8 G parameters).
public struct VACEShape: Sendable {
    public var wan: WanShape
    /// The Wan blocks a VACE block is attached to (config.json's vace_layers), and the VACE
    /// patch embedding's input channels.
    public var vaceLayers: [Int]
    public var vaceInDim: Int
}

public struct HunyuanVideoShape: Sendable {
    public var hidden, heads, mlp, double, single, refinerBlocks: Int
    public var inChannels, outChannels, textDim, pooledDim, freqDim: Int
    /// t2v has the guidance embedder.
    public var guidance: Bool
}

extension SampleModel {
    static func vacePreset(size: String) throws -> SampleModel {
        func model(_ v: VACEShape) -> SampleModel {
            let w = v.wan
            var m = SampleModel(family: .vace, llm: .init(hidden: w.width, layers: w.layers, heads: w.heads, kvHeads: w.heads, ffn: w.ffn, vocab: 0, tied: false),
                                vit: .init(width: 0, depth: 0, heads: 0, mlp: 0), maxShardBytes: Int.max)
            m.vace = v
            return m
        }
        switch size {
        case "tiny":  // sora/vace_roundtrip
            return model(.init(wan: .init(heads: 2, headDim: 8, ffn: 32, layers: 4, textDim: 12, freqDim: 8, inChannels: 4, outChannels: 4),
                               vaceLayers: [0, 2], vaceInDim: 6))
        case "1.3b":  // Wan2.1-VACE-1.3B
            return model(.init(wan: .init(heads: 12, headDim: 128, ffn: 8960, layers: 30, textDim: 4096, freqDim: 256, inChannels: 16, outChannels: 16),
                               vaceLayers: Array(stride(from: 0, to: 30, by: 2)), vaceInDim: 96))
        default:
            throw unknownSize(.vace, size)
        }
    }

    static func hunyuanVideoPreset(size: String) throws -> SampleModel {
        func model(_ h: HunyuanVideoShape) -> SampleModel {
            var m = SampleModel(family: .hunyuanvideo, llm: .init(hidden: h.hidden, layers: h.double + h.single, heads: h.heads, kvHeads: h.heads, ffn: h.mlp, vocab: 0, tied: false),
                                vit: .init(width: 0, depth: 0, heads: 0, mlp: 0), maxShardBytes: Int.max)
            m.hunyuanVideo = h
            return m
        }
        switch size {
        case "tiny":  // HunyuanVideoConverterTests.tensors()
            return model(.init(hidden: 8, heads: 2, mlp: 32, double: 2, single: 2, refinerBlocks: 1, inChannels: 4, outChannels: 4,
                               textDim: 6, pooledDim: 10, freqDim: 16, guidance: true))
        case "720p":  // hunyuan-video-t2v-720p
            return model(.init(hidden: 3072, heads: 24, mlp: 12288, double: 20, single: 40, refinerBlocks: 2, inChannels: 16, outChannels: 16,
                               textDim: 4096, pooledDim: 768, freqDim: 256, guidance: true))
        default:
            throw unknownSize(.hunyuanvideo, size)
        }
    }
}

extension SampleGenerator {
    /// VaceWanModel's tensors under the original Wan names.
    func addVACE(_ m: inout TensorMap) throws {
        guard let v = model.vace else { throw OpsError.invalid("a VACE sample needs its shape") }
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        func linear(_ name: String, _ out: Int, _ inp: Int) throws { try add(name + ".weight", [out, inp]); try add(name + ".bias", [out]) }
        let w = v.wan, d = w.width
        func block(_ p: String) throws {
            try add(p + "modulation", [1, 6, d])
            for a in ["self_attn", "cross_attn"] {
                for x in ["q", "k", "v", "o"] { try linear(p + a + "." + x, d, d) }
                try add(p + a + ".norm_q.weight", [d]); try add(p + a + ".norm_k.weight", [d])
            }
            try add(p + "norm3.weight", [d]); try add(p + "norm3.bias", [d])
            try linear(p + "ffn.0", w.ffn, d)
            try linear(p + "ffn.2", d, w.ffn)
        }
        try add("patch_embedding.weight", [d, w.inChannels, 1, 2, 2]); try add("patch_embedding.bias", [d])
        try linear("text_embedding.0", d, w.textDim); try linear("text_embedding.2", d, d)
        try linear("time_embedding.0", d, w.freqDim); try linear("time_embedding.2", d, d)
        try linear("time_projection.1", 6 * d, d)
        for l in 0..<w.layers { try block("blocks.\(l).") }
        try linear("head.head", w.outChannels * 4, d)
        try add("head.modulation", [1, 2, d])
        for j in v.vaceLayers.indices {
            let p = "vace_blocks.\(j)."
            if j == 0 { try linear(p + "before_proj", d, d) }
            try block(p)
            try linear(p + "after_proj", d, d)
        }
        try add("vace_patch_embedding.weight", [d, v.vaceInDim, 1, 2, 2]); try add("vace_patch_embedding.bias", [d])
    }

    /// config.json of the original Wan-VACE release (keys sorted).
    func vaceConfig() -> Value {
        let v = model.vace!, w = v.wan
        return SampleGenerator.sortedKeys(.dict([
            ("_class_name", .string("VaceWanModel")), ("_diffusers_version", .string("0.30.0")), ("cross_attn_norm", .bool(true)),
            ("dim", .int(w.width)), ("eps", .float(1e-6)), ("ffn_dim", .int(w.ffn)), ("freq_dim", .int(w.freqDim)), ("in_dim", .int(w.inChannels)),
            ("model_type", .string("t2v")), ("num_heads", .int(w.heads)), ("num_layers", .int(w.layers)), ("out_dim", .int(w.outChannels)),
            ("patch_size", .list([.int(1), .int(2), .int(2)])), ("qk_norm", .bool(true)), ("text_len", .int(512)),
            ("vace_in_dim", .int(v.vaceInDim)), ("vace_layers", .list(v.vaceLayers.map { .int($0) })), ("window_size", .list([.int(-1), .int(-1)])),
        ]))
    }

    /// HunyuanVideo's original DiT (hyvideo/modules/models.py), in module order.
    func addHunyuanVideo(_ m: inout TensorMap) throws {
        guard let s = model.hunyuanVideo else { throw OpsError.invalid("a HunyuanVideo sample needs its shape") }
        func add(_ name: String, _ shape: [Int]) throws { m[name] = try pool.tensor(name, shape) }
        func linear(_ name: String, _ out: Int, _ inp: Int) throws { try add(name + ".weight", [out, inp]); try add(name + ".bias", [out]) }
        let h = s.hidden, headDim = s.hidden / s.heads
        try add("img_in.proj.weight", [h, s.inChannels, 1, 2, 2]); try add("img_in.proj.bias", [h])
        try linear("txt_in.input_embedder", h, s.textDim)
        try linear("txt_in.t_embedder.mlp.0", h, s.freqDim); try linear("txt_in.t_embedder.mlp.2", h, h)
        try linear("txt_in.c_embedder.linear_1", h, s.textDim); try linear("txt_in.c_embedder.linear_2", h, h)
        for b in 0..<s.refinerBlocks {
            let r = "txt_in.individual_token_refiner.blocks.\(b)."
            try add(r + "norm1.weight", [h]); try add(r + "norm1.bias", [h])
            try linear(r + "self_attn_qkv", 3 * h, h); try linear(r + "self_attn_proj", h, h)
            try add(r + "norm2.weight", [h]); try add(r + "norm2.bias", [h])
            try linear(r + "mlp.fc1", 4 * h, h); try linear(r + "mlp.fc2", h, 4 * h)
            try linear(r + "adaLN_modulation.1", 2 * h, h)
        }
        try linear("time_in.mlp.0", h, s.freqDim); try linear("time_in.mlp.2", h, h)
        try linear("vector_in.in_layer", h, s.pooledDim); try linear("vector_in.out_layer", h, h)
        if s.guidance { try linear("guidance_in.mlp.0", h, s.freqDim); try linear("guidance_in.mlp.2", h, h) }
        for l in 0..<s.double {
            for st in ["img", "txt"] {
                let p = "double_blocks.\(l).\(st)_"
                try linear(p + "mod.linear", 6 * h, h); try linear(p + "attn_qkv", 3 * h, h)
                try add(p + "attn_q_norm.weight", [headDim]); try add(p + "attn_k_norm.weight", [headDim])
                try linear(p + "attn_proj", h, h); try linear(p + "mlp.fc1", s.mlp, h); try linear(p + "mlp.fc2", h, s.mlp)
            }
        }
        for l in 0..<s.single {
            let p = "single_blocks.\(l)."
            try linear(p + "linear1", 3 * h + s.mlp, h); try linear(p + "linear2", h, h + s.mlp)
            try add(p + "q_norm.weight", [headDim]); try add(p + "k_norm.weight", [headDim])
            try linear(p + "modulation.linear", 3 * h, h)
        }
        try linear("final_layer.linear", s.outChannels * 4, h); try linear("final_layer.adaLN_modulation.1", 2 * h, h)
    }
}
