import CLI
import DSL
import Foundation
import XCTest

/// The binary carries its recipes: the embedded copy must be exactly Recipes/ (re-run
/// tools/embed-recipes.py after editing a recipe), and every bundled converter must load.
final class BundledRecipesTests: XCTestCase {
    func testEmbeddedRecipesMatchTheRecipesFolder() throws {
        let root = RecipePaths.repoRoot.appendingPathComponent("Recipes").path
        var onDisk: [String: String] = [:]
        let walker = FileManager.default.enumerator(atPath: root)
        while let rel = walker?.nextObject() as? String {
            guard rel.hasSuffix(".recipe") else { continue }
            onDisk[rel] = try String(contentsOfFile: root + "/" + rel, encoding: .utf8)
        }
        XCTAssertEqual(Set(BundledRecipes.files.keys), Set(onDisk.keys), "run python3 tools/embed-recipes.py")
        for (path, text) in onDisk {
            XCTAssertEqual(BundledRecipes.files[path], text, "\(path) differs from its embedded copy: run python3 tools/embed-recipes.py")
        }
    }

    func testEveryBundledConverterLoadsWithItsOperations() throws {
        let catalog = try RecipeCatalog.bundled()
        let ops = Dictionary(grouping: catalog.infos, by: \.converter).mapValues { $0.map(\.operation) }
        XCTAssertEqual(ops, ["Qwen2VLConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "VideoAlignConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "Qwen2_5_VLConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "InternVLConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "Qwen3VLMegatronConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "Qwen2_5_OmniConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "GlmConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "DeepSeekVLConverter": ["hf_to_mm", "mm_to_hf", "resplit"],
                             "WanConverter": ["hf_to_mm", "mm_to_hf", "resplit", "layerzero_to_mm", "lora_hf_to_mm", "merge_lora_to_base", "mm_to_dcp"],
                             "VACEConverter": ["hf_to_mm", "mm_to_hf", "hf_diffusers_to_mm", "mm_to_hf_diffusers"],
                             "HunyuanVideoConverter": ["resplit", "layerzero_to_mm", "merge_lora_to_base", "mm_to_source", "source_to_mm", "t2v_text_encoder"],
                             "CogVideoConverter": ["hf_to_mm", "mm_to_hf", "resplit", "layerzero_to_mm", "merge_lora_to_base", "source_to_mm"],
                             "OpenSoraPlanConverter": ["hf_to_mm", "mm_to_hf", "resplit", "mm_to_source", "source_to_mm", "vae_convert"],
                             "LuminaConverter": ["hf_to_mm", "mm_to_hf"],
                             "BagelConverter": ["hf_to_mm"],
                             "GenericDCPConverter": ["dcp_to_hf", "hf_to_dcp"],
                             "Qwen3VLConverter": ["dcp_to_hf", "hf_to_dcp", "lora_hf_to_dcp", "merge_mm_lora_dcp_weight_to_base_hf"],
                             "Qwen35Converter": ["dcp_to_hf", "hf_to_dcp"],
                             "Mistral3Converter": ["dcp_to_hf", "hf_to_dcp", "lora_hf_to_dcp", "merge_mm_lora_dcp_weight_to_base_hf"],
                             "Qwen3TTSConverter": ["dcp_to_hf", "hf_to_dcp"],
                             "MOSSTTSConverter": ["dcp_to_hf", "hf_to_dcp"],
                             "ExpertMergeDcpConverter": ["dcp_to_hf", "hf_to_dcp"],
                             // Commands without an operation (the reference's functions and scripts).
                             "moe_expert": [""], "merge_lora_safetensors_to_base": [""]])
        // A family is its layout.recipe: each converter file selects the family and uses the
        // direction written once in common/ (four lines, no copy of a direction), plus the `param`
        // declarations of its own options (with their continuation lines).
        // A DCP converter binds its directories and options to the names its layout reads, then
        // uses the direction shared by every DCP converter (dcp/hf_to_dcp.recipe, ...).
        for entry in catalog.entries where !entry.info.operation.isEmpty {
            let text = BundledRecipes.files[entry.path]!
            let statements = text.split(separator: "\n").filter { !$0.hasPrefix("param ") && !$0.hasPrefix(" ") && !$0.hasPrefix("#") }
            if entry.path.hasPrefix("dcp/") {
                XCTAssertTrue(text.contains("use \"\(entry.info.operation).recipe\""), entry.path)
                XCTAssertLessThanOrEqual(statements.count, 12, entry.path)
            } else {
                // The video models' directions (sora.md) are the `sora_` ones (VACE's mm_to_hf forms
                // write one torch file: sora_mm_to_pt).
                XCTAssertTrue(text.contains("use \"../common/\(entry.info.operation).recipe\"")
                              || text.contains("use \"../common/sora_\(entry.info.operation).recipe\"")
                              || (entry.path.hasPrefix("vace/mm_to_hf") && text.contains("use \"../common/sora_mm_to_pt.recipe\"")), entry.path)
                XCTAssertLessThanOrEqual(statements.count, 4, entry.path)
            }
        }
        for info in catalog.infos {
            XCTAssertFalse(info.params.isEmpty, "\(info.converter) \(info.operation) declares no parameters")
        }
    }
}
