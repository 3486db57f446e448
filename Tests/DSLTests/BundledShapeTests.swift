import DSL
import Ops
import XCTest

/// The design's Qwen2-VL sketch in the final syntax: one layout shared by hf_to_mm and mm_to_hf.
final class BundledShapeTests: XCTestCase {
    let files = [
        "qwen2vl/layout.recipe": """
        # How Qwen2-VL's HF names and tensors map to MindSpeed-MM's
        map qwen2vl {
          rename "visual.blocks.{L}.attn.proj" -> "image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj"
          rename "model.embed_tokens"          -> "text_decoder.embedding.word_embeddings"
          merge glu "model.layers.{L}.mlp.{gate,up}_proj.weight" -> "text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight"
          merge qkv "model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}"
                 -> "text_decoder.decoder.layers.{L}.self_attention.linear_qkv.{weight,bias}" groups=config.num_key_value_heads
          relocate qkv "image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv.{weight,bias}" heads=config.vision_config.num_heads
        }
        shard qwen2vl_tp {
          row "text_decoder.embedding.word_embeddings.weight"
          glu "text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight"
          col "text_decoder.decoder.layers.{L}.self_attention.linear_proj.weight"
        }
        stages qwen2vl_pp {
          vit "image_encoder.encoder.blocks.layers." first=["image_encoder.encoder.patch_embed."] last=["image_encoder.projector."]
          llm "text_decoder.decoder.layers." first=["text_decoder.embedding."] last=["text_decoder.decoder.final_layernorm.", "text_decoder.output_layer."]
        }
        """,
        "qwen2vl/hf_to_mm.recipe": """
        recipe Qwen2VLConverter.hf_to_mm "Hugging Face -> MindSpeed-MM"
        use "layout.recipe"
        param cfg.mm_dir: path                                "where to write the MindSpeed-MM checkpoint"
        param cfg.hf_config.hf_dir: dir                       "the downloaded Hugging Face checkpoint"
        param cfg.parallel_config.llm_pp_layers: [[int >= 0]] "LLM layers per pipeline stage"
        param cfg.parallel_config.vit_pp_layers: [[int >= 0]] "ViT layers per pipeline stage"
        param cfg.parallel_config.tp_size: int > 0 = 1        "tensor-parallel size"
        load hf cfg.hf_config.hf_dir
        let pp_size = len(cfg.parallel_config.llm_pp_layers[0])
        assert sum(cfg.parallel_config.vit_pp_layers) == config.vision_config.depth "vit_pp_layers must add up to " + str(config.vision_config.depth)
        apply qwen2vl
        if config.tie_word_embeddings and pp_size > 1 { tie "text_decoder.embedding.word_embeddings.weight" -> "text_decoder.output_layer.weight" }
        shard qwen2vl_tp tp=cfg.parallel_config.tp_size
        stage qwen2vl_pp vit=cfg.parallel_config.vit_pp_layers llm=cfg.parallel_config.llm_pp_layers
        save mm cfg.mm_dir
        """,
        "qwen2vl/mm_to_hf.recipe": """
        recipe Qwen2VLConverter.mm_to_hf "MindSpeed-MM -> Hugging Face"
        use "layout.recipe"
        param cfg.mm_dir: dir "the MindSpeed-MM checkpoint"
        param cfg.save_hf_dir: path "where to write"
        param cfg.hf_config.hf_dir: dir "the original HF checkpoint (config, tokenizer)"
        load mm cfg.mm_dir
        unstage qwen2vl_pp
        unshard qwen2vl_tp
        revert qwen2vl
        save hf cfg.save_hf_dir like=cfg.hf_config.hf_dir
        """,
    ]

    func assertPrefixes(_ log: [String], _ prefixes: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(log.count, prefixes.count, "\(log)", file: file, line: line)
        for (entry, prefix) in zip(log, prefixes) {
            XCTAssertTrue(entry.hasPrefix(prefix), "\(entry) does not start with \(prefix)", file: file, line: line)
        }
    }

    func testHFToMMAndBack() throws {
        let loader = RecipeLoader.memory(files)
        let forward = Session(files: files)
        forward.interpreter.context.state.configToLoad = .dict([
            ("num_key_value_heads", .int(4)), ("tie_word_embeddings", .bool(true)),
            ("vision_config", .dict([("depth", .int(32)), ("num_heads", .int(16))])),
        ])
        try forward.interpreter.run(try Recipe.load("qwen2vl/hf_to_mm.recipe", loader: loader), params: [
            "cfg.mm_dir": .string("/mm"), "cfg.hf_config.hf_dir": .string("/hf"),
            "cfg.parallel_config.llm_pp_layers": .list([.list([.int(1), .int(27)])]),
            "cfg.parallel_config.vit_pp_layers": .list([.list([.int(32), .int(0)])]),
            "cfg.parallel_config.tp_size": .int(2),
        ])
        assertPrefixes(forward.log, [
            "load hf \"/hf\"",
            "rename \"visual.blocks.{L}.attn.proj\" -> \"im",
            "rename \"model.embed_tokens\" -> \"text_decod",
            "merge glu \"model.layers.{L}.mlp.{gate,up}",
            "merge qkv \"model.layers.{L}.self_attn.{q,",
            "relocate qkv \"image_encoder.encoder.block",
            "tie \"text_decoder.embedding.word_embeddin",
            "shard <shard qwen2vl_tp: row \"text_decode",
            "stage <stages qwen2vl_pp: vit \"image_enco",
            "save mm \"/mm\"",
        ])
        XCTAssertTrue(forward.log[4].hasSuffix(" groups=4"))
        XCTAssertTrue(forward.log[5].hasSuffix(" heads=16"))
        XCTAssertTrue(forward.log[7].hasSuffix(" tp=2"))

        let back = Session(files: files)
        try back.interpreter.run(try Recipe.load("qwen2vl/mm_to_hf.recipe", loader: loader), params: [
            "cfg.mm_dir": .string("/mm"), "cfg.save_hf_dir": .string("/out"), "cfg.hf_config.hf_dir": .string("/hf"),
        ])
        assertPrefixes(back.log, [
            "load mm \"/mm\"",
            "unstage <stages qwen2vl_pp: vi",
            "unshard <shard qwen2vl_tp: row",
            "undo relocate qkv \"image_encod",
            "undo merge qkv \"model.layers.{",
            "undo merge glu \"model.layers.{",
            "undo rename \"model.embed_toke",
            "undo rename \"visual.blocks.{L",
            "save hf \"/out\" like=\"/hf\"",
        ])
    }

    func testInfoOfBothDirections() throws {
        let loader = RecipeLoader.memory(files)
        let forward = try Recipe.load("qwen2vl/hf_to_mm.recipe", loader: loader).info(loader: loader)
        XCTAssertEqual(forward.params.map(\.name), ["cfg.mm_dir", "cfg.hf_config.hf_dir", "cfg.parallel_config.llm_pp_layers", "cfg.parallel_config.vit_pp_layers", "cfg.parallel_config.tp_size"])
        let back = try Recipe.load("qwen2vl/mm_to_hf.recipe", loader: loader).info(loader: loader)
        XCTAssertEqual("\(back.converter) \(back.operation)", "Qwen2VLConverter mm_to_hf")
    }
}
