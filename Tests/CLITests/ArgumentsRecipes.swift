import DSL
import Ops
import CLI

/// RecipeInfo values mirroring the reference's §8.2 config models for Qwen2VLConverter.
enum ArgumentsRecipes {
    static let layers = ParamType.list(.list(.int))
    static let flatLayers = ParamType.list(.int)

    static func parallel(_ prefix: String, nested: Bool) -> [ParamSpec] {
        let t = nested ? layers : flatLayers
        return [
            ParamSpec(name: "\(prefix).llm_pp_layers", type: t, bounds: [ParamBound(.ge, 0)], doc: "LLM layers per stage: outer = VPP chunks, inner = PP ranks"),
            ParamSpec(name: "\(prefix).vit_pp_layers", type: t, bounds: [ParamBound(.ge, 0)], doc: "ViT layers per stage"),
            ParamSpec(name: "\(prefix).audio_pp_layers", type: .optional(t), bounds: [ParamBound(.ge, 0)], defaultValue: .null, doc: "audio layers per stage (Omni only)"),
            ParamSpec(name: "\(prefix).tp_size", type: .int, bounds: [ParamBound(.gt, 0)], defaultValue: .int(1), doc: "LLM tensor-parallel size"),
            ParamSpec(name: "\(prefix).vit_tp_size", type: .optional(.int), bounds: [ParamBound(.ge, 0)], defaultValue: .int(0), doc: "ViT TP size; 0 = tp_size"),
            ParamSpec(name: "\(prefix).audio_tp_size", type: .optional(.int), bounds: [ParamBound(.ge, 0)], defaultValue: .int(0), doc: "audio TP size; 0 = tp_size"),
            ParamSpec(name: "\(prefix).ep_size", type: .optional(.int), bounds: [ParamBound(.gt, 0)], defaultValue: .int(1), doc: "expert-parallel size"),
        ]
    }

    static let common: [ParamSpec] = [
        ParamSpec(name: "cfg.common_model_config.llm_hf_dir", type: .optional(.path), defaultValue: .null, doc: "separate pure-LLM HF checkpoint"),
        ParamSpec(name: "cfg.common_model_config.enable_canonical_hf_struct", type: .optional(.bool), defaultValue: .bool(false), doc: "canonical ViT qkv layout"),
        ParamSpec(name: "cfg.common_model_config.num_key_value_heads", type: .int, defaultValue: .int(0), doc: "read from config.json", ignored: true),
    ]

    static let hfToMM = RecipeInfo(
        converter: "Qwen2VLConverter", operation: "hf_to_mm",
        doc: "Convert a Hugging Face Qwen2-VL checkpoint to MindSpeed-MM (Megatron) layout.\n\nSplits tensors over TP ranks and layers over PP stages.",
        params: [
            ParamSpec(name: "cfg.mm_dir", type: .path, doc: "output root (created)"),
            ParamSpec(name: "cfg.hf_config.hf_dir", type: .dir, doc: "Hugging Face checkpoint directory"),
        ] + parallel("cfg.parallel_config", nested: true) + [
            ParamSpec(name: "cfg.llm_hf_config", type: .optional(.str), defaultValue: .null, doc: "unused", ignored: true),
            ParamSpec(name: "cfg.save_vit_only", type: .optional(.bool), defaultValue: .bool(false), doc: "keep only visual* keys"),
            ParamSpec(name: "cfg.trust_remote_code", type: .bool, defaultValue: .bool(false), doc: "accepted for compatibility", ignored: true),
        ] + common)

    static let mmToHF = RecipeInfo(
        converter: "Qwen2VLConverter", operation: "mm_to_hf",
        doc: "Convert a MindSpeed-MM Qwen2-VL checkpoint back to Hugging Face layout.",
        params: [
            ParamSpec(name: "cfg.save_hf_dir", type: .path, doc: "output directory"),
            ParamSpec(name: "cfg.mm_dir", type: .dir, doc: "MindSpeed-MM checkpoint root"),
            ParamSpec(name: "cfg.hf_config.hf_dir", type: .dir, doc: "the original Hugging Face directory"),
        ] + parallel("cfg.parallel_config", nested: false))

    static let resplit = RecipeInfo(
        converter: "Qwen2VLConverter", operation: "resplit",
        doc: "Re-split a MindSpeed-MM checkpoint to other TP/PP sizes.",
        params: [
            ParamSpec(name: "cfg.source_dir", type: .dir, doc: "MM checkpoint root"),
            ParamSpec(name: "cfg.target_dir", type: .path, doc: "output root"),
        ] + parallel("cfg.source_parallel_config", nested: false) + parallel("cfg.target_parallel_config", nested: false))

    static let internHF = RecipeInfo(
        converter: "InternVLConverter", operation: "hf_to_mm", doc: "Convert InternVL.",
        params: [ParamSpec(name: "cfg.mm_dir", type: .path, doc: "output root")])

    static var surface: ArgumentSurface {
        ArgumentSurface(program: "mm-convert", summary: "Convert multimodal checkpoints between Hugging Face and MindSpeed-MM layouts.",
                        recipes: [hfToMM, mmToHF, resplit, internHF],
                        extraCommands: [(name: "inspect", summary: "List the tensors of a checkpoint."), (name: "verify", summary: "Compare two checkpoints.")])
    }
}
