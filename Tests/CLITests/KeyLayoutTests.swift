import Ops
import XCTest

/// Qwen2-VL checkpoints saved by newer transformers name the parts `model.visual.*` and
/// `model.language_model.*` (reference §9 Q4, where the reference drops everything but lm_head).
/// hf_to_mm gives the same ranks as from the classic names, and mm_to_hf writes the layout of the
/// original checkpoint back, byte for byte.
final class KeyLayoutTests: XCTestCase {
    /// The fixture re-saved under the newer names: same shards (by file), tensors renamed.
    static func newerLayoutCopy(of source: String, to directory: String) throws -> Int {
        func renamed(_ name: String) -> String {
            if name.hasPrefix("visual.") { return "model." + name }
            if name.hasPrefix("model.") { return "model.language_model." + name.dropFirst("model.".count) }
            return name
        }
        let ckpt = try HFCheckpoint.load(source)
        try CheckpointFiles.makeDirectory(directory)
        let byFile = Dictionary(grouping: ckpt.weightMap, by: \.file)
        for (file, entries) in byFile {
            let tensors = TensorMap(entries.map { (renamed($0.tensor), ckpt.tensors[$0.tensor]!) })
            try SafetensorsWriter.write(tensors, metadata: ckpt.metadata[file], to: directory + "/" + file)
        }
        let index = try XCTUnwrap(ckpt.index)
        let renamedIndex = SafetensorsIndex(metadata: index.metadata, weightMap: index.weightMap.map { (renamed($0.tensor), $0.file) })
        try CheckpointFiles.writeFile(renamedIndex.encoded(), to: directory + "/" + SafetensorsIndex.fileName)
        for rel in ckpt.sideFiles { try CheckpointFiles.copyFile(from: source + "/" + rel, to: directory + "/" + rel) }
        return ckpt.weightMap.filter { $0.tensor != renamed($0.tensor) }.count
    }

    func testNewerTransformersKeyLayout() throws {
        let scratch = Converters.Scratch()
        let newer = scratch.path("hf-newer")
        let renamedCount = try Self.newerLayoutCopy(of: Converters.hf("qwen2vl"), to: newer)
        let names = try HFCheckpoint.load(newer).tensors.names
        XCTAssertEqual(renamedCount, names.count - 1, "every tensor but lm_head is renamed")
        XCTAssertTrue(names.contains("model.visual.patch_embed.proj.weight"))
        XCTAssertTrue(names.contains("model.language_model.embed_tokens.weight"))

        // The same ranks as the reference's from the classic names.
        let mm = scratch.path("mm")
        try Converters.hfToMM("Qwen2VLConverter", hf: newer, to: mm, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
        Converters.assertEqual(try Converters.summary(ofMM: mm),
                               try Converters.summary(ofManifest: Converters.golden("qwen2vl_tp2_pp3") + ".manifest.json"), "newer key layout")

        // Back to the layout of whichever original is given.
        let backNewer = scratch.path("back-newer"), backClassic = scratch.path("back-classic")
        try Converters.mmToHF("Qwen2VLConverter", mm: mm, hf: newer, to: backNewer, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
        try Converters.assertSameFiles(backNewer, newer, "mm_to_hf to the newer layout")
        try Converters.mmToHF("Qwen2VLConverter", mm: mm, hf: Converters.hf("qwen2vl"), to: backClassic, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
        try Converters.assertSameFiles(backClassic, Converters.hf("qwen2vl"), "mm_to_hf to the classic layout")
    }
}
