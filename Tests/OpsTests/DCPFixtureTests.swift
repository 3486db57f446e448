import Foundation
import XCTest
@testable import Ops

/// Every DCP fixture (torch-written, hand-made, the reference converters' output) read without
/// torch and matched against its `.expected.json`, entry by entry.
final class DCPFixtureTests: XCTestCase {
    func check(_ name: String, load path: String? = nil) throws -> DCPCheckpoint {
        let expected = try DCPFixtures.expected(name)
        let ckpt = try DCPCheckpoint.load(DCPFixtures.path(path ?? expected["checkpoint_dir"]!.description))
        try DCPFixtures.assertMatches(ckpt, expected)
        return ckpt
    }

    func testTorchBasicEveryDType() throws {
        let c = try check("torch_basic")
        XCTAssertEqual(c.tensorNames.count, 19)
        XCTAssertEqual(c.valueNames, ["checkpoint_version"])
        // Test vector 1: the bytes item at the start of the file, and its data.pkl.
        let item = try XCTUnwrap(c.storageItem("checkpoint_version"))
        XCTAssertEqual([item.file, String(item.offset), String(item.length)], ["__0_0.distcp", "0", "1261"])
        // Test vector 2: float32 item at 1261; its data/0 at item offset 704 (file offset 1965).
        let f32 = try c.chunks("model.float32")[0].tensor
        guard case let .view(store, off, _) = f32.tensor.node else { return XCTFail("not a view") }
        XCTAssertEqual(store.fileOffset + off, 1965)
        XCTAssertEqual(off, 704)
        // float8 through _rebuild_tensor_v3 + UntypedStorage.
        XCTAssertEqual(try c.tensor("model.float8_e4m3fn").dtype, .f8e4m3)
        // Test vector 3: the strided item keeps its stride, the merged bytes are row-major.
        XCTAssertEqual(try c.chunks("model.layers.0.transposed_view")[0].tensor.stride, [1, 4])
        XCTAssertEqual(try c.tensor("model.scalar_0d").shape, [])
    }

    func testTorchObjectsValuesAndFlattening() throws {
        let c = try check("torch_objects")
        XCTAssertEqual(c.plannerPath("optimizer.param_groups.0.params"), [.key("optimizer"), .key("param_groups"), .index(0), .key("params")])
        XCTAssertEqual(c.plannerPath("model.deep.er.x.y"), [.key("model"), .key("deep"), .key("er"), .key("x.y")])
        XCTAssertNil(c.metadata.entry("empty_dict"))
        guard case let .bigInt(b) = try c.value("big_int") else { return XCTFail("2**70 is not a big int") }
        XCTAssertEqual(b, [0, 0, 0, 0, 0, 0, 0, 0, 0x40])
        XCTAssertEqual(try c.value("unicode").stringValue, "größe ✓")
    }

    func testTorchShardedUnevenEmptyAndColumnChunks() throws {
        let c = try check("torch_sharded", load: "torch_sharded")
        XCTAssertEqual(c.location.iteration, .iteration(10))
        XCTAssertEqual(c.location.root, DCPFixtures.path("torch_sharded"))
        let embed = try XCTUnwrap(c.metadata.entry("model.embed.weight")?.tensor)
        XCTAssertEqual(embed.chunks, [DCPChunk(offsets: [0, 0], sizes: [3, 4]), DCPChunk(offsets: [3, 0], sizes: [2, 4])])
        XCTAssertEqual(try c.tensor("model.embed.weight").leadingParts.count, 2, "rows 0-2 and 3-4, not copied")
        let row = try XCTUnwrap(c.metadata.entry("model.one_row")?.tensor)
        XCTAssertEqual(row.chunks[1], DCPChunk(offsets: [1, 0], sizes: [0, 12]))
        let col = try XCTUnwrap(c.metadata.entry("model.col_split")?.tensor)
        XCTAssertEqual(col.chunks.map(\.offsets), [[0, 0], [0, 2]])
        guard case let .concat(dim, parts) = try c.tensor("model.col_split").node else { return XCTFail("columns not concatenated") }
        XCTAssertEqual(dim, 1)
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(c.storageItem("checkpoint_version")?.file, "__1_0.distcp")
        // The 0-byte data file holds no item and is never opened.
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: DCPFixtures.path("torch_sharded/iter_0000010/__0_4.distcp"))[.size] as? Int, 0)
        // The checkpoint directory itself loads the same.
        XCTAssertEqual(try DCPCheckpoint.load(DCPFixtures.path("torch_sharded/iter_0000010")).metadata, c.metadata)
    }

    func testHandmadeMinimal() throws {
        let c = try check("handmade_minimal")
        XCTAssertNil(c.metadata.version)
        XCTAssertNil(c.metadata.storageMeta)
        XCTAssertNil(c.metadata.entry("model.w")?.tensor?.properties.strides, "5-item TensorProperties")
        // Chunks out of order in two files, 24 zero bytes before each item.
        XCTAssertEqual(c.storageItem("model.e", offsets: [0, 0])?.file, "__0_1.distcp")
        XCTAssertEqual(c.storageItem("model.e", offsets: [0, 0])?.offset, 24)
        XCTAssertEqual(c.storageItem("model.e", offsets: [3, 0])?.offset, 4490)
        // `item/` archive prefix and stride (1, 3).
        XCTAssertEqual(try c.chunks("model.wt")[0].tensor.stride, [1, 3])
        XCTAssertEqual(try DCPFixtures.sha256(c.tensor("model.wt")), try DCPFixtures.sha256(c.tensor("model.w")))
    }

    func testReferenceGenericQwen2VL() throws {
        let c = try check("ref_generic_qwen2vl", load: "ref_generic_qwen2vl/dcp")
        XCTAssertEqual(c.location.iteration, .release)
        XCTAssertEqual(c.tensorNames.count, 46)
        XCTAssertTrue(c.tensorNames.contains("model.model.embed_tokens.weight"))
        XCTAssertTrue(c.tensorNames.contains("model.visual.blocks.0.attn.qkv.weight"))
    }

    /// Test vector 7: the expert tensors are the HF tensors' bytes in the 2-D view.
    func testReferenceQwen3VLMoE() throws {
        let c = try check("ref_qwen3vl_moe", load: "ref_qwen3vl_moe/dcp")
        XCTAssertEqual(c.entries.count, 65)
        XCTAssertEqual(Set(c.metadata.storage.map(\.file)), ["__0_0.distcp", "__1_0.distcp"])
        let hf = try HFCheckpoint.load(DCPFixtures.path("ref_qwen3vl_moe/hf"))
        let key = "model.language_model.layers.0.mlp.experts.gate_up_proj"
        let dcp = try c.tensor("model.model." + key)
        XCTAssertEqual(dcp.shape, [64, 12])
        XCTAssertEqual(try DCPFixtures.sha256(dcp), try DCPFixtures.sha256(XCTUnwrap(hf.tensors[key])))
    }
}
