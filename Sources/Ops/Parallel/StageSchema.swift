/// Which tensors of one module (ViT, LLM, audio encoder) go to which pipeline stage (§5.2).
///
/// Names are classified by prefix ("starts with"): per-layer tensors are `layerPrefix` followed by
/// the layer number (then `.` or the end of the name); first-stage tensors (embeddings) go to the
/// module's first non-empty stage, last-stage tensors (final norm, output layer, projector) to its
/// last non-empty stage, and `everywhere` tensors to every stage of the model (§5.2).
public struct StageSchema: Sendable, Equatable, CustomStringConvertible {
    /// A short name for messages ("vit", "llm", "audio").
    public let name: String
    public let layerPrefix: String
    public let first: [String]
    public let last: [String]
    public let everywhere: [String]

    public init(name: String, layerPrefix: String, first: [String], last: [String], everywhere: [String] = []) {
        self.name = name
        self.layerPrefix = layerPrefix
        self.first = first
        self.last = last
        self.everywhere = everywhere
    }

    public var description: String { "\(name) (layers '\(layerPrefix)N')" }

    /// Where a name belongs in this schema.
    public enum Role: Equatable, Sendable {
        /// A per-layer tensor: its layer number and where the number sits in the name.
        case layer(Int, digits: Range<String.Index>)
        case first, last, everywhere
    }

    /// The role of `name`, or nil when this schema does not claim it.
    public func role(of name: String) -> Role? {
        if name.hasPrefix(layerPrefix) {
            // On the UTF-8 bytes: this runs for every name of a model (26,000 in a MoE layout).
            let u = name.utf8
            let start = u.index(u.startIndex, offsetBy: layerPrefix.utf8.count)
            var end = start, n = 0
            while end < u.endIndex, u[end] >= 0x30, u[end] <= 0x39, n < Int.max / 10 - 9 {
                n = n * 10 + Int(u[end] - 0x30)
                end = u.index(after: end)
            }
            if end > start, end == u.endIndex || u[end] == UInt8(ascii: ".") {
                return .layer(n, digits: start..<end)
            }
        }
        if first.contains(where: { name.hasPrefix($0) }) { return .first }
        if last.contains(where: { name.hasPrefix($0) }) { return .last }
        if everywhere.contains(where: { name.hasPrefix($0) }) { return .everywhere }
        return nil
    }

    /// `name` with its layer number (the integer right after `layerPrefix`) replaced.
    func renumbered(_ name: String, digits: Range<String.Index>, to n: Int) -> String {
        var s = name
        s.replaceSubrange(digits, with: String(n))
        return s
    }

    // MARK: - The schemas of the reference (§5.2)

    /// The built-in schemas by name: `text`, `text_videoalign`, `vision`, `vision_qwen3`,
    /// `vision_internvl`, `vision_deepseek`, `vision_glm`, `audio`.
    public static let presets: [String: StageSchema] = [
        "text": .text, "text_videoalign": .textVideoAlign, "vision": .vision, "vision_qwen3": .visionQwen3,
        "vision_internvl": .visionInternVL, "vision_deepseek": .visionDeepSeek, "vision_glm": .visionGLM, "audio": .audio,
    ]

    public static let text = StageSchema(
        name: "llm", layerPrefix: "text_decoder.decoder.layers.",
        first: ["text_decoder.embedding."],
        last: ["text_decoder.decoder.final_layernorm.", "text_decoder.output_layer."])
    /// Qwen2-VL, Qwen2.5-VL, Omni, VideoAlign.
    public static let vision = StageSchema(
        name: "vit", layerPrefix: "image_encoder.encoder.blocks.layers.",
        first: ["image_encoder.encoder.patch_embed."], last: ["image_encoder.projector."])
    public static let visionQwen3 = StageSchema(
        name: "vit", layerPrefix: "image_encoder.encoder.blocks.layers.",
        first: ["image_encoder.encoder.patch_embed.", "image_encoder.encoder.pos_embed."], last: ["image_encoder.projector."])
    public static let visionInternVL = StageSchema(
        name: "vit", layerPrefix: "image_encoder.encoder.encoder.layers.",
        first: ["image_encoder.encoder.embeddings."], last: ["image_encoder.projector."])
    public static let visionDeepSeek = StageSchema(
        name: "vit", layerPrefix: "image_encoder.encoder.blocks.",
        first: ["image_encoder.encoder.patch_embed.", "image_encoder.encoder.pos_embed"],
        last: ["image_encoder.encoder.norm", "image_encoder.encoder.attn_pool", "image_encoder.projector."],
        everywhere: ["image_newline", "view_seperator"])
    public static let visionGLM = StageSchema(
        name: "vit", layerPrefix: "image_encoder.encoder.blocks.layers.",
        first: ["image_encoder.encoder.patch_embed.", "image_encoder.encoder.post_conv_layernorm.", "image_encoder.encoder.embeddings.position_embedding"],
        last: ["image_encoder.projector.", "image_encoder.encoder.blocks.final_layernorm", "image_encoder.encoder.downsample"])
    public static let audio = StageSchema(
        name: "audio", layerPrefix: "audio_encoder.encoder.blocks.layers.",
        first: ["audio_encoder.encoder.conv", "audio_encoder.encoder.audio_bos_eos_token"],
        last: ["audio_encoder.encoder.proj", "audio_encoder.encoder.ln_post"])
    public static let textVideoAlign = StageSchema(
        name: "llm", layerPrefix: "text_decoder.decoder.layers.",
        first: ["text_decoder.embedding."], last: ["text_decoder.decoder.final_layernorm.", "rm_head"])
}
