/// VideoAlign (KwaiVGI VideoReward) samples: a Qwen2-VL reward model.
///
/// There is no Hub checkpoint in safetensors form to copy (VideoReward ships a PEFT `.pth`), so
/// this sample is an assumption, kept simple and close to what the reference converter reads
/// (`checkpoint/vlm_model/converters/videoalign.py`, §7.8):
/// * Qwen2-VL's tensors and config.json (the converter reads the config as a Qwen2VLConfig), with
///   the `tiny` and `2b` shapes of the `qwen2vl` sample (the 2B is tied: no `lm_head.weight`);
/// * the newer transformers key layout (`new_transformers_weight_key`): `model.visual.`,
///   `model.language_model.`, `lm_head.weight`;
/// * plus `rm_head.weight` `[1, hidden]`: the reward head, `nn.Linear(hidden, output_dim, bias=False)`
///   with output_dim 1 (MindSpeed-MM's `Qwen2VLRewardModelBT` and the VideoAlign example's
///   model.json), which the converter renames to itself and places on the last LLM stage;
/// * plain names: no PEFT prefix (`model_prefix` "base_model.model.") and no `.base_layer.`
///   wrappers, i.e. a merged export; the vocabulary is Qwen2-VL's (the reward tokens'
///   151660 come from the converter's `resize_vocab_size`).
extension SampleModel {
    static func videoAlignPreset(size: String) throws -> SampleModel {
        guard SampleModel.sizes(.videoalign).contains(size) else { throw unknownSize(.videoalign, size) }
        var model = try preset(.qwen2vl, size: size)
        model.family = .videoalign
        return model
    }
}

extension SampleGenerator {
    /// Qwen2-VL in the newer key layout plus the reward head.
    func addVideoAlign(_ m: inout TensorMap) throws {
        try addQwen2VL(&m, visual: "model.visual.", text: "model.language_model.")
        m["rm_head.weight"] = try pool.tensor("rm_head.weight", [1, model.llm.hidden])
    }
}
