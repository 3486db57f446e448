/// Qwen2.5-Omni's Whisper-style audio encoder (thinker.audio_tower): `width` is d_model, `ffn`
/// encoder_ffn_dim; its output is projected to the LLM width (output_dim).
public struct AudioShape: Sendable {
    public var width, layers, heads, ffn, melBins: Int
}

/// Qwen2.5-Omni's talker and token2wav, as far as samples go: the config fields and a few
/// representative tensors (see `addQwen2_5Omni`).
public struct SpeechShape: Sendable {
    /// Talker: its own decoder width, the thinker-embedding width it reads, codec vocabulary, heads.
    public var talkerHidden, talkerEmbedding, talkerVocab, talkerHeads, talkerKVHeads, talkerHeadDim, talkerLayers, talkerFFN: Int
    /// token2wav: DiT width, mel bins, BigVGAN's first upsampling channel count.
    public var ditHidden, melDim, bigvganChannels: Int
}

/// Qwen2.5-Omni samples (Qwen2_5OmniModel): presets, tensors and config.json.
///
/// The thinker is complete: ViT (`thinker.visual.`: separate q/k/v with biases, gated MLP with
/// biases, RMS norms), audio encoder (`thinker.audio_tower.`: k_proj without bias, LayerNorms with
/// biases), Qwen2 LLM (`thinker.model.`, `thinker.lm_head`). The talker and token2wav are
/// represented by the tensors the fixture has: `talker.{thinker_to_talker_proj, model.embed_tokens,
/// model.norm, codec_head}` and `token2wav.code2wav_{dit_model.proj_out, bigvgan_model.conv_pre}`, no
/// talker decoder layers, no DiT / BigVGAN blocks. The converters carry talker and token2wav through
/// unchanged (§7.5), so their count and size do not matter to them; the `7b` preset gives these
/// tensors the published 7B widths (talker 896 wide over 3584-wide embeddings, codec vocabulary
/// 8448; DiT 1024 wide, 80 mel bins, BigVGAN 1536 channels), so it is smaller than the Hub checkpoint:
/// 8.97 B parameters (17.9 GB) where the published model has about 10.7 B. token2wav is float32,
/// everything else bfloat16, as in the Hub checkpoint.
extension SampleModel {
    static func qwen2_5OmniPreset(size: String) throws -> SampleModel {
        switch size {
        case "tiny":  // /work/shared/fixtures/hf/qwen2_5omni
            return .init(family: .qwen2_5omni, llm: .init(hidden: 32, layers: 4, heads: 4, kvHeads: 2, ffn: 64, vocab: 256, tied: false),
                         vit: .init(width: 8, depth: 2, heads: 2, mlp: 24), maxShardBytes: 90_000,
                         audio: .init(width: 16, layers: 2, heads: 2, ffn: 64, melBins: 8),
                         speech: .init(talkerHidden: 32, talkerEmbedding: 32, talkerVocab: 16, talkerHeads: 2, talkerKVHeads: 1,
                                       talkerHeadDim: 16, talkerLayers: 1, talkerFFN: 64, ditHidden: 16, melDim: 8, bigvganChannels: 8))
        case "7b":  // Qwen2.5-Omni-7B (talker and token2wav: representative tensors only)
            return .init(family: .qwen2_5omni, llm: .init(hidden: 3584, layers: 28, heads: 28, kvHeads: 4, ffn: 18944, vocab: 152_064, tied: false),
                         vit: .init(width: 1280, depth: 32, heads: 16, mlp: 3420), maxShardBytes: 4_000_000_000,
                         audio: .init(width: 1280, layers: 32, heads: 20, ffn: 5120, melBins: 128),
                         speech: .init(talkerHidden: 896, talkerEmbedding: 3584, talkerVocab: 8448, talkerHeads: 12, talkerKVHeads: 4,
                                       talkerHeadDim: 128, talkerLayers: 24, talkerFFN: 18944, ditHidden: 1024, melDim: 80, bigvganChannels: 1536))
        default:
            throw unknownSize(.qwen2_5omni, size)
        }
    }
}

extension SampleGenerator {
    /// The tensors of Qwen2_5OmniModel: thinker (audio tower, ViT, LLM), talker, token2wav.
    func addQwen2_5Omni(_ m: inout TensorMap) throws {
        func add(_ name: String, _ shape: [Int], _ dtype: DType = .bf16) throws { m[name] = try pool.tensor(name, shape).cast(to: dtype) }
        let l = model.llm, v = model.vit, d = l.headSize
        guard let a = model.audio, let s = model.speech else { throw OpsError.invalid("a qwen2_5omni sample needs audio and speech shapes") }

        let au = "thinker.audio_tower."
        try add(au + "conv1.weight", [a.width, a.melBins, 3]); try add(au + "conv1.bias", [a.width])
        try add(au + "conv2.weight", [a.width, a.width, 3]); try add(au + "conv2.bias", [a.width])
        for i in 0..<a.layers {
            let p = au + "layers.\(i)."
            try add(p + "self_attn.k_proj.weight", [a.width, a.width])
            for n in ["v_proj", "q_proj", "out_proj"] { try add(p + "self_attn.\(n).weight", [a.width, a.width]); try add(p + "self_attn.\(n).bias", [a.width]) }
            try add(p + "self_attn_layer_norm.weight", [a.width]); try add(p + "self_attn_layer_norm.bias", [a.width])
            try add(p + "fc1.weight", [a.ffn, a.width]); try add(p + "fc1.bias", [a.ffn])
            try add(p + "fc2.weight", [a.width, a.ffn]); try add(p + "fc2.bias", [a.width])
            try add(p + "final_layer_norm.weight", [a.width]); try add(p + "final_layer_norm.bias", [a.width])
        }
        try add(au + "ln_post.weight", [a.width]); try add(au + "ln_post.bias", [a.width])
        try add(au + "proj.weight", [l.hidden, a.width]); try add(au + "proj.bias", [l.hidden])
        try add(au + "audio_bos_eos_token.weight", [2, l.hidden])

        let vis = "thinker.visual."
        try add(vis + "patch_embed.proj.weight", [v.width, 3, 2, 14, 14])
        for i in 0..<v.depth {
            let p = vis + "blocks.\(i)."
            try add(p + "norm1.weight", [v.width]); try add(p + "norm2.weight", [v.width])
            for n in ["q", "k", "v", "proj"] { try add(p + "attn.\(n).weight", [v.width, v.width]); try add(p + "attn.\(n).bias", [v.width]) }
            for n in ["gate_proj", "up_proj"] { try add(p + "mlp.\(n).weight", [v.mlp, v.width]); try add(p + "mlp.\(n).bias", [v.mlp]) }
            try add(p + "mlp.down_proj.weight", [v.width, v.mlp]); try add(p + "mlp.down_proj.bias", [v.width])
        }
        let merged = v.width * 4
        try add(vis + "merger.ln_q.weight", [v.width])
        try add(vis + "merger.mlp.0.weight", [merged, merged]); try add(vis + "merger.mlp.0.bias", [merged])
        try add(vis + "merger.mlp.2.weight", [l.hidden, merged]); try add(vis + "merger.mlp.2.bias", [l.hidden])
        try addQwenLLM(&m, prefix: "thinker.model.", head: l.tied ? nil : "thinker.lm_head.weight", bias: true, d: d)

        try add("talker.thinker_to_talker_proj.weight", [s.talkerHidden, s.talkerEmbedding])
        try add("talker.thinker_to_talker_proj.bias", [s.talkerHidden])
        try add("talker.model.embed_tokens.weight", [s.talkerVocab, s.talkerEmbedding])
        try add("talker.model.norm.weight", [s.talkerHidden])
        try add("talker.codec_head.weight", [s.talkerVocab, s.talkerHidden])

        try add("token2wav.code2wav_dit_model.proj_out.weight", [s.melDim, s.ditHidden], .f32)
        try add("token2wav.code2wav_dit_model.proj_out.bias", [s.melDim], .f32)
        try add("token2wav.code2wav_bigvgan_model.conv_pre.weight", [s.bigvganChannels, s.melDim, 7], .f32)
        try add("token2wav.code2wav_bigvgan_model.conv_pre.bias", [s.bigvganChannels], .f32)
    }

    /// config.json of the Hub's Qwen2.5-Omni (keys sorted): `thinker_config` with the text, vision and
    /// audio configs, `talker_config`, `token2wav_config`.
    func qwen2_5OmniConfig() -> Value {
        let l = model.llm, v = model.vit
        let a = model.audio ?? AudioShape(width: 0, layers: 0, heads: 0, ffn: 0, melBins: 0)
        let s = model.speech ?? SpeechShape(talkerHidden: 0, talkerEmbedding: 0, talkerVocab: 0, talkerHeads: 0, talkerKVHeads: 0,
                                            talkerHeadDim: 0, talkerLayers: 0, talkerFFN: 0, ditHidden: 0, melDim: 0, bigvganChannels: 0)
        let tok = OmniTokens(vocab: l.vocab), codec = OmniCodecTokens(vocab: s.talkerVocab)
        let half = l.headSize / 2
        let mrope = l.headSize == 128 ? [16, 24, 24] : [half - 2 * (half / 4), half / 4, half / 4]
        // Full attention every 8th block and in the last one (7B: 7, 15, 23, 31); windowed elsewhere.
        let fullAttention = (0..<v.depth).filter { ($0 + 1) % 8 == 0 || $0 == v.depth - 1 }
        let ints: ([Int]) -> Value = { .list($0.map { .int($0) }) }
        let text: [(String, Value)] = [
            ("attention_dropout", .float(0)), ("hidden_act", .string("silu")), ("hidden_size", .int(l.hidden)), ("init_std", .float(0.02)),
            ("intermediate_size", .int(l.ffn)), ("max_position_embeddings", .int(32768)), ("max_window_layers", .int(l.layers)),
            ("model_type", .string("qwen2_5_omni_text")), ("num_attention_heads", .int(l.heads)), ("num_hidden_layers", .int(l.layers)),
            ("num_key_value_heads", .int(l.kvHeads)), ("rms_norm_eps", .float(1e-6)),
            ("rope_scaling", .dict([("mrope_section", ints(mrope)), ("rope_type", .string("default")), ("type", .string("default"))])),
            ("rope_theta", .float(1_000_000)), ("sliding_window", .int(32768)), ("tie_word_embeddings", .bool(l.tied)),
            ("use_cache", .bool(true)), ("use_sliding_window", .bool(false)), ("vocab_size", .int(l.vocab)),
        ]
        let vision: [(String, Value)] = [
            ("depth", .int(v.depth)), ("embed_dim", .int(v.width)), ("fullatt_block_indexes", ints(fullAttention)),
            ("hidden_act", .string("silu")), ("hidden_size", .int(v.width)), ("in_channels", .int(3)), ("in_chans", .int(3)),
            ("intermediate_size", .int(v.mlp)), ("model_type", .string("qwen2_5_omni_vision_encoder")), ("num_heads", .int(v.heads)),
            ("out_hidden_size", .int(l.hidden)), ("patch_size", .int(14)), ("spatial_merge_size", .int(2)),
            ("spatial_patch_size", .int(14)), ("temporal_patch_size", .int(2)), ("tokens_per_second", .int(25)), ("window_size", .int(112)),
        ]
        let audio: [(String, Value)] = [
            ("activation_dropout", .float(0)), ("activation_function", .string("gelu")), ("attention_dropout", .float(0)),
            ("d_model", .int(a.width)), ("dropout", .float(0)), ("encoder_attention_heads", .int(a.heads)),
            ("encoder_ffn_dim", .int(a.ffn)), ("encoder_layers", .int(a.layers)), ("init_std", .float(0.02)),
            ("max_source_positions", .int(1500)), ("model_type", .string("qwen2_5_omni_audio_encoder")), ("n_window", .int(100)),
            ("num_hidden_layers", .int(a.layers)), ("num_mel_bins", .int(a.melBins)), ("output_dim", .int(l.hidden)),
            ("scale_embedding", .bool(false)),
        ]
        let thinker: [(String, Value)] = [
            ("audio_config", .dict(audio)), ("audio_end_token_id", .int(tok.audioEnd)), ("audio_start_token_id", .int(tok.audioStart)),
            ("audio_token_index", .int(tok.audio)), ("bos_token_id", .int(tok.bos)), ("eos_token_id", .int(tok.eos)),
            ("ignore_index", .int(-100)), ("image_token_index", .int(tok.image)), ("init_std", .float(0.02)),
            ("model_type", .string("qwen2_5_omni_thinker")), ("pad_token_id", .int(tok.pad)), ("position_id_per_seconds", .int(25)),
            ("seconds_per_chunk", .int(2)), ("text_config", .dict(text)), ("user_token_id", .int(872)),
            ("video_token_index", .int(tok.video)), ("vision_config", .dict(vision)), ("vision_end_token_id", .int(tok.visionEnd)),
            ("vision_start_token_id", .int(tok.visionStart)), ("vision_token_id", .int(tok.vision)),
        ]
        let talker: [(String, Value)] = [
            ("embedding_size", .int(s.talkerEmbedding)), ("head_dim", .int(s.talkerHeadDim)), ("hidden_size", .int(s.talkerHidden)),
            ("intermediate_size", .int(s.talkerFFN)), ("model_type", .string("qwen2_5_omni_talker")),
            ("num_attention_heads", .int(s.talkerHeads)), ("num_hidden_layers", .int(s.talkerLayers)),
            ("num_key_value_heads", .int(s.talkerKVHeads)), ("tts_codec_end_token_id", .int(codec.end)),
            ("tts_codec_mask_token_id", .int(codec.mask)), ("tts_codec_pad_token_id", .int(codec.pad)),
            ("tts_codec_start_token_id", .int(codec.start)), ("vocab_size", .int(s.talkerVocab)),
        ]
        let token2wav: [(String, Value)] = [
            ("bigvgan_config", .dict([("mel_dim", .int(s.melDim)), ("model_type", .string("qwen2_5_omni_bigvgan")),
                                      ("upsample_initial_channel", .int(s.bigvganChannels))])),
            ("dit_config", .dict([("hidden_size", .int(s.ditHidden)), ("mel_dim", .int(s.melDim)), ("model_type", .string("qwen2_5_omni_dit"))])),
            ("model_type", .string("qwen2_5_omni_token2wav")),
        ]
        return SampleGenerator.sortedKeys(.dict([
            ("architectures", .list([.string("Qwen2_5OmniModel")])), ("enable_audio_output", .bool(true)), ("enable_talker", .bool(true)),
            ("model_type", .string("qwen2_5_omni")), ("talker_config", .dict(talker)), ("thinker_config", .dict(thinker)),
            ("token2wav_config", .dict(token2wav)), ("torch_dtype", .string("bfloat16")), ("transformers_version", .string("4.50.0.dev0")),
        ]))
    }

    /// generation_config.json (sampling on; the second end token is the pad token).
    func qwen2_5OmniGenerationConfig() -> String {
        let tok = OmniTokens(vocab: model.llm.vocab)
        return JSONWriter(layout: .indented(2)).string(.dict([
            ("bos_token_id", .int(tok.bos)), ("do_sample", .bool(true)), ("eos_token_id", .list([.int(tok.eos), .int(tok.pad)])),
            ("pad_token_id", .int(tok.pad)), ("temperature", .float(0.7)), ("top_k", .int(20)), ("top_p", .float(0.8)),
            ("transformers_version", .string("4.50.0.dev0")),
        ])) + "\n"
    }
}

/// The thinker's special tokens: Qwen's real ids with the real vocabulary, otherwise the fixture's
/// places at the end of a small one.
struct OmniTokens {
    let bos, eos, pad, audio, audioStart, audioEnd, visionStart, visionEnd, vision, image, video: Int

    init(vocab: Int) {
        if vocab >= 151_936 {
            (bos, eos, pad, audio, audioStart, audioEnd) = (151_644, 151_645, 151_643, 151_646, 151_647, 151_648)
            (visionStart, visionEnd, vision, image, video) = (151_652, 151_653, 151_654, 151_655, 151_656)
        } else {
            (bos, eos, pad, audio, audioStart, audioEnd) = (vocab - 14, vocab - 12, vocab - 14, vocab - 11, vocab - 10, vocab - 9)
            (visionStart, visionEnd, vision, image, video) = (vocab - 5, vocab - 4, vocab - 3, vocab - 2, vocab - 1)
        }
    }
}

/// The talker's codec tokens: the 7B's ids with its 8448-entry vocabulary, otherwise the fixture's.
struct OmniCodecTokens {
    let pad, start, end, mask: Int

    init(vocab: Int) {
        (pad, start, end, mask) = vocab >= 8448 ? (8292, 8293, 8294, 8296) : (vocab - 5, vocab - 4, vocab - 3, vocab - 1)
    }
}
