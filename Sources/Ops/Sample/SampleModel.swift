/// The model families `mm-convert sample` can generate, with real tensor names, real config.json
/// fields and either tiny or real shapes.
public enum SampleFamily: String, CaseIterable, Sendable {
    case qwen2vl, qwen2_5vl
    case internvl = "internvl", internvlInternLM2 = "internvl_internlm2", internvlLlama = "internvl_llama"
    case qwen3vl, qwen3vlMoe = "qwen3vl_moe"
    case glm4v, qwen2_5omni, deepseekvl2, videoalign
    case wan, wanI2V = "wan_i2v", cogvideox, vace, hunyuanvideo

    /// Video-generation models: diffusers folders (`diffusion_pytorch_model*` files, no
    /// generation_config.json).
    public var isDiffusers: Bool { self == .wan || self == .wanI2V || self == .cogvideox || self == .vace }

    /// Models released as one torch file (`{"module": state dict}`, no config.json): its path
    /// inside the sample's directory.
    public var torchFile: String? { self == .hunyuanvideo ? "transformers/mp_rank_00_model_states.pt" : nil }
}

/// Language-model dimensions.
public struct LLMShape: Sendable {
    public var hidden, layers, heads, kvHeads, ffn, vocab: Int
    public var tied: Bool
    /// Width of one attention head; nil means `hidden / heads`. Qwen3 states it in config.json
    /// because it differs (30B-A3B: 128 with hidden 2048 and 32 heads).
    public var headDim: Int? = nil
    /// Mixture-of-experts MLPs in every layer instead of the dense `ffn` one (Qwen3-VL-MoE; DeepSeek-VL2
    /// after its first `MoEShape.firstDense` dense layers).
    public var moe: MoEShape? = nil
    /// Multi-head latent attention instead of q/k/v projections (DeepSeek-VL2).
    public var mla: MLAShape? = nil

    public var headSize: Int { headDim ?? hidden / heads }
}

/// Sparse MLP dimensions: `experts` experts of width `ffn` (moe_intermediate_size), `topK` per token.
public struct MoEShape: Sendable {
    public var experts, ffn, topK: Int
    /// DeepSeek-style extras: `shared` always-on experts (one MLP `shared * ffn` wide), the first
    /// `firstDense` layers dense, and a router `e_score_correction_bias` (topk_method noaux_tc).
    public var shared: Int = 0
    public var firstDense: Int = 0
    public var correctionBias: Bool = false
}

/// Vision-tower dimensions (`width` is the ViT embedding width, `mlp` its MLP width, `out` the
/// projector's output width, i.e. the LLM hidden size).
public struct ViTShape: Sendable {
    public var width, depth, heads, mlp: Int
    /// Learned position embeddings (Qwen3-VL's num_position_embeddings; 0 for the others).
    public var positions: Int = 0
    /// Blocks whose output a deepstack merger feeds to the LLM (Qwen3-VL's deepstack_visual_indexes).
    public var deepstack: [Int] = []
    /// config.json's mlp_ratio where the MLP width is derived from it (SigLIP: 3.7362 x 1152 -> 4304);
    /// nil means `mlp / width`.
    public var mlpRatio: Double? = nil
    /// config.json's image_size where the patches do not tile it (SigLIP: 384 pixels, 27 x 27 patches
    /// of 14); nil means 14 x sqrt(positions).
    public var imageSize: Int? = nil
}

/// A model to generate: family, shapes and how to shard it.
public struct SampleModel: Sendable {
    public var family: SampleFamily
    public var llm: LLMShape
    public var vit: ViTShape
    public var maxShardBytes: Int
    /// Qwen2.5-Omni's audio encoder, talker and token2wav.
    public var audio: AudioShape? = nil
    public var speech: SpeechShape? = nil
    /// A Wan transformer (families `wan`, `wan_i2v`).
    public var wan: WanShape? = nil
    /// A CogVideoX transformer (family `cogvideox`).
    public var cogvideox: CogVideoXShape? = nil
    /// Wan-VACE (family `vace`) and HunyuanVideo (family `hunyuanvideo`).
    public var vace: VACEShape? = nil
    public var hunyuanVideo: HunyuanVideoShape? = nil

    /// Size presets: `tiny` (the fixtures' shapes, two shards), and real shapes for benchmarks.
    public static func preset(_ family: SampleFamily, size: String) throws -> SampleModel {
        switch (family, size) {
        case (.qwen2vl, "tiny"):
            return .init(family: family, llm: .init(hidden: 64, layers: 4, heads: 4, kvHeads: 2, ffn: 192, vocab: 384, tied: false),
                         vit: .init(width: 32, depth: 2, heads: 4, mlp: 128), maxShardBytes: 340_000)
        case (.qwen2vl, "2b"):
            return .init(family: family, llm: .init(hidden: 1536, layers: 28, heads: 12, kvHeads: 2, ffn: 8960, vocab: 151_936, tied: true),
                         vit: .init(width: 1280, depth: 32, heads: 16, mlp: 5120), maxShardBytes: 4_000_000_000)
        case (.qwen2vl, "7b"):
            return .init(family: family, llm: .init(hidden: 3584, layers: 28, heads: 28, kvHeads: 4, ffn: 18944, vocab: 152_064, tied: false),
                         vit: .init(width: 1280, depth: 32, heads: 16, mlp: 5120), maxShardBytes: 4_000_000_000)
        case (.qwen2_5vl, "tiny"):
            return .init(family: family, llm: .init(hidden: 64, layers: 4, heads: 4, kvHeads: 2, ffn: 192, vocab: 384, tied: true),
                         vit: .init(width: 32, depth: 2, heads: 4, mlp: 96), maxShardBytes: 300_000)
        case (.qwen2_5vl, "3b"):
            return .init(family: family, llm: .init(hidden: 2048, layers: 36, heads: 16, kvHeads: 2, ffn: 11008, vocab: 151_936, tied: true),
                         vit: .init(width: 1280, depth: 32, heads: 16, mlp: 3420), maxShardBytes: 4_000_000_000)
        case (.qwen2_5vl, "7b"):
            return .init(family: family, llm: .init(hidden: 3584, layers: 28, heads: 28, kvHeads: 4, ffn: 18944, vocab: 152_064, tied: false),
                         vit: .init(width: 1280, depth: 32, heads: 16, mlp: 3420), maxShardBytes: 4_000_000_000)
        case (.internvl, "tiny"), (.internvlInternLM2, "tiny"), (.internvlLlama, "tiny"):
            return .init(family: family, llm: .init(hidden: 64, layers: 4, heads: 4, kvHeads: 2, ffn: 192, vocab: 331, tied: false),
                         vit: .init(width: 48, depth: 2, heads: 3, mlp: 144), maxShardBytes: 400_000)
        case (.qwen3vl, _), (.qwen3vlMoe, _):
            return try qwen3VLPreset(family, size: size)
        case (.glm4v, _): return try glm4vPreset(size: size)
        case (.qwen2_5omni, _): return try qwen2_5OmniPreset(size: size)
        case (.deepseekvl2, _): return try deepSeekVL2Preset(size: size)
        case (.videoalign, _): return try videoAlignPreset(size: size)
        case (.wan, _), (.wanI2V, _): return try wanPreset(family, size: size)
        case (.cogvideox, _): return try cogVideoXPreset(size: size)
        case (.vace, _): return try vacePreset(size: size)
        case (.hunyuanvideo, _): return try hunyuanVideoPreset(size: size)
        default:
            throw unknownSize(family, size)
        }
    }

    /// The sizes `preset` accepts for `family`, `tiny` first (for usage text and errors).
    public static func sizes(_ family: SampleFamily) -> [String] {
        switch family {
        case .qwen2vl: ["tiny", "2b", "7b"]
        case .qwen2_5vl: ["tiny", "3b", "7b"]
        case .internvl, .internvlInternLM2, .internvlLlama: ["tiny"]
        case .qwen3vl: ["tiny", "2b", "4b", "8b"]
        case .qwen3vlMoe: ["tiny", "30b_a3b", "bench"]
        case .glm4v: ["tiny", "9b"]
        case .qwen2_5omni: ["tiny", "7b"]
        case .deepseekvl2: ["tiny", "small"]
        case .videoalign: ["tiny", "2b"]
        case .wan: ["tiny", "1.3b", "5b", "14b"]
        case .wanI2V: ["tiny", "14b"]
        case .cogvideox: ["tiny", "5b"]
        case .vace: ["tiny", "1.3b"]
        case .hunyuanvideo: ["tiny", "720p"]
        }
    }

    static func unknownSize(_ family: SampleFamily, _ size: String) -> OpsError {
        .invalid("no size '\(size)' for sample \(family.rawValue); choose one of: \(sizes(family).joined(separator: ", "))")
    }
}
