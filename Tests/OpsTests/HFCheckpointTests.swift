import Foundation
import XCTest
@testable import Ops

final class HFCheckpointTests: XCTestCase {
    func mode(_ path: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Every file of `dir` has the manifest's SHA-256, and the directory holds exactly the manifest's files.
    func assertMatchesManifest(_ dir: String, _ fixture: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let manifest = try STFixtures.manifest(fixture)
        XCTAssertEqual(try CheckpointFiles.listFiles(in: dir), manifest.files.map(\.name).sorted(), file: file, line: line)
        for f in manifest.files {
            XCTAssertEqual(try STFixtures.sha256(ofFile: dir + "/" + f.name), f.sha256, "\(fixture)/\(f.name)", file: file, line: line)
            XCTAssertEqual(try mode(dir + "/" + f.name), 0o640, f.name, file: file, line: line)
        }
    }

    func testLoadsFixtureCheckpoints() throws {
        let q = try HFCheckpoint.load(STFixtures.hf + "/qwen2vl")
        XCTAssertEqual(q.tensors.count, 82)
        XCTAssertEqual(q.tensors.totalBytes, 669_440)
        XCTAssertEqual(q.config?["model_type"], .string("qwen2_vl"))
        XCTAssertEqual(q.config?["vision_config"]?["embed_dim"], .int(32))
        XCTAssertEqual(q.config?["rms_norm_eps"], .float(1e-06))
        XCTAssertEqual(q.index?.weightMap.count, 82)
        XCTAssertEqual(q.index?.shardFiles, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(q.sideFiles, ["README.md", "config.json", "generation_config.json", "tokenizer_config.json"])
        XCTAssertEqual(q.shardOf["lm_head.weight"], "model-00002-of-00002.safetensors")
        XCTAssertEqual(q.shardOf["visual.patch_embed.proj.weight"], "model-00001-of-00002.safetensors")
        XCTAssertEqual(q.metadata["model-00002-of-00002.safetensors"]?.map { $0.0 + "=" + $0.1 }, ["format=pt"])
        // Shard 1 first, header order within it.
        XCTAssertEqual(q.tensors.names.first, "model.embed_tokens.weight")
        XCTAssertEqual(q.tensors.names.last, "model.norm.weight")

        let i = try HFCheckpoint.load(STFixtures.hf + "/internvl_qwen2")
        XCTAssertEqual(i.tensors.count, 89)
        XCTAssertEqual(i.tensors.totalBytes, 763_808)
        XCTAssertEqual(i.tensors["language_model.model.embed_tokens.weight"]?.shape, [331, 64])
        XCTAssertEqual(i.sideFiles, ["README.md", "config.json", "configuration_intern_vit.py", "configuration_internvl_chat.py",
                                     "generation_config.json", "tokenizer_config.json"])
    }

    /// load -> save like the source reproduces every file of both fixtures byte for byte.
    func testRoundTripIsByteIdentical() throws {
        let root = try STFixtures.temporaryDirectory(self)
        for fixture in ["qwen2vl", "internvl_qwen2"] {
            let source = try HFCheckpoint.load(STFixtures.hf + "/" + fixture)
            let out = root + "/" + fixture + "/out"
            // Reversed order: the layout must not depend on the order tensors arrive in.
            let reversed = TensorMap(source.tensors.names.reversed().map { ($0, source.tensors[$0]!) })
            let result = try HFCheckpoint.save(reversed, to: out, like: source)
            XCTAssertEqual(result.unplaced, [])
            XCTAssertEqual(result.totalSize, source.tensors.totalBytes)
            XCTAssertEqual(Array(result.files.prefix(3)), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
            try assertMatchesManifest(out, fixture)
            XCTAssertEqual(try mode(out), 0o750)
            XCTAssertEqual(try mode(root + "/" + fixture), 0o750)
        }
    }

    /// Tensors the source has no place for are reported, not written; a missing one is an error
    /// before anything is written; the index is recomputed (total_size) for what was written.
    func testUnplacedAndMissingTensors() throws {
        let root = try STFixtures.temporaryDirectory(self)
        let source = try HFCheckpoint.load(STFixtures.hf + "/qwen2vl")
        var tensors = source.tensors
        tensors["extra.bias"] = .zeros(.bf16, [4])
        let plan = try HFCheckpoint.plan(tensors, like: source)
        XCTAssertEqual(plan.files, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                    "README.md", "config.json", "generation_config.json", "tokenizer_config.json"])
        XCTAssertEqual(plan.shards.map(\.tensors.count), [47, 35])
        XCTAssertEqual(plan.unplaced, ["extra.bias"])
        XCTAssertEqual(plan.totalSize, 669_440)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/a"))
        let result = try HFCheckpoint.save(tensors, to: root + "/a", like: source)
        XCTAssertEqual(result.unplaced, ["extra.bias"])
        try assertMatchesManifest(root + "/a", "qwen2vl")

        var missing = source.tensors
        missing.remove("lm_head.weight")
        missing.remove("model.norm.weight")
        XCTAssertThrowsError(try HFCheckpoint.save(missing, to: root + "/b", like: source)) { e in
            XCTAssertTrue("\(e)".contains("2 tensor(s) listed in its model.safetensors.index.json are missing from the converted checkpoint: 'lm_head.weight', 'model.norm.weight'"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/b"))
        XCTAssertThrowsError(try HFCheckpoint.save(source.tensors, to: STFixtures.hf + "/qwen2vl", like: source)) { e in
            XCTAssertTrue("\(e)".contains("is the source checkpoint"), "\(e)")
        }

        // A smaller tensor changes total_size in the recomputed index.
        var smaller = source.tensors
        smaller["lm_head.weight"] = try source.tensors["lm_head.weight"]!.slice(dim: 0, start: 0, count: 380)
        try HFCheckpoint.save(smaller, to: root + "/c", like: source)
        let index = try SafetensorsIndex(contentsOf: root + "/c/model.safetensors.index.json")
        XCTAssertEqual(Value.dict(index.metadata), .dict([("total_size", .int(669_440 - 4 * 64 * 2))]))
        XCTAssertEqual(index.weightMap.map(\.tensor), source.index!.weightMap.map(\.tensor))
    }

    /// A shard that cannot be created fails the save with the file's name (shards are written two at a time).
    func testWriteErrorsPropagateFromConcurrentShards() throws {
        let root = try STFixtures.temporaryDirectory(self)
        let source = try HFCheckpoint.load(STFixtures.hf + "/qwen2vl")
        try FileManager.default.createDirectory(atPath: root + "/out/model-00002-of-00002.safetensors", withIntermediateDirectories: true)
        XCTAssertThrowsError(try HFCheckpoint.save(source.tensors, to: root + "/out", like: source)) { e in
            XCTAssertTrue("\(e)".contains("out/model-00002-of-00002.safetensors: cannot create: Is a directory"), "\(e)")
        }
    }

    /// An index that records `total_parameters` (newer transformers) gets it recomputed too.
    func testIndexMetadataIsRecomputed() throws {
        let root = try STFixtures.temporaryDirectory(self)
        let a = Tensor.zeros(.f32, [3, 2]), b = Tensor.zeros(.bf16, [5])
        try HFCheckpoint.save(TensorMap([("a", a), ("b", b)]), to: root + "/src", maxShardBytes: 24)
        let index = SafetensorsIndex(metadata: [("total_size", .int(1)), ("total_parameters", .int(1)), ("note", .string("kept"))],
                                     weightMap: [("a", "model-00001-of-00002.safetensors"), ("b", "model-00002-of-00002.safetensors")])
        try CheckpointFiles.writeFile(index.encoded(), to: root + "/src/" + SafetensorsIndex.fileName)
        let source = try HFCheckpoint.load(root + "/src")
        try HFCheckpoint.save(TensorMap([("b", Tensor.zeros(.bf16, [7])), ("a", a)]), to: root + "/out", like: source)
        let text = try String(contentsOfFile: root + "/out/" + SafetensorsIndex.fileName, encoding: .utf8)
        XCTAssertEqual(text, """
            {
              "metadata": {
                "note": "kept",
                "total_parameters": 13,
                "total_size": 38
              },
              "weight_map": {
                "a": "model-00001-of-00002.safetensors",
                "b": "model-00002-of-00002.safetensors"
              }
            }

            """)
    }

    /// Size-based sharding as save_pretrained does it: in model (module) order, the fixture's shard
    /// boundary falls where the next tensor would pass the limit, giving back the fixture's exact files.
    func testShardingBySizeReproducesFixture() throws {
        let root = try STFixtures.temporaryDirectory(self)
        let source = try HFCheckpoint.load(STFixtures.hf + "/qwen2vl")
        var order = ["visual.patch_embed.proj.weight"]
        for b in 0..<2 {
            for p in ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "attn.qkv.weight", "attn.qkv.bias",
                      "attn.proj.weight", "attn.proj.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"] {
                order.append("visual.blocks.\(b).\(p)")
            }
        }
        order += ["visual.merger.ln_q.weight", "visual.merger.ln_q.bias", "visual.merger.mlp.0.weight", "visual.merger.mlp.0.bias",
                  "visual.merger.mlp.2.weight", "visual.merger.mlp.2.bias", "model.embed_tokens.weight"]
        for l in 0..<4 {
            for p in ["self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight", "self_attn.k_proj.bias",
                      "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight", "mlp.gate_proj.weight",
                      "mlp.up_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight"] {
                order.append("model.layers.\(l).\(p)")
            }
        }
        order += ["model.norm.weight", "lm_head.weight"]
        XCTAssertEqual(Set(order), Set(source.tensors.names))
        let model = TensorMap(order.map { ($0, source.tensors[$0]!) })
        var side: [String: [UInt8]] = [:]
        for f in source.sideFiles { side[f] = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source.directory + "/" + f))) }
        let result = try HFCheckpoint.save(model, to: root + "/out", maxShardBytes: 336_128, sideFiles: side)
        XCTAssertEqual(result.files, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                      "README.md", "config.json", "generation_config.json", "tokenizer_config.json"])
        try assertMatchesManifest(root + "/out", "qwen2vl")

        // One shard: model.safetensors and no index; reads back as a single-file checkpoint.
        let single = try HFCheckpoint.save(model, to: root + "/single", maxShardBytes: 1 << 30, sideFiles: ["sub/dir/x.txt": [1, 2]])
        XCTAssertEqual(single.files, ["model.safetensors", "sub/dir/x.txt"])
        XCTAssertEqual(try mode(root + "/single/sub/dir"), 0o750)
        let back = try HFCheckpoint.load(root + "/single")
        XCTAssertNil(back.index)
        XCTAssertNil(back.config)
        XCTAssertEqual(back.sideFiles, ["sub/dir/x.txt"])
        XCTAssertEqual(Set(back.tensors.names), Set(order))
        XCTAssertEqual(try back.tensors["lm_head.weight"]!.sha256(), try source.tensors["lm_head.weight"]!.sha256())

        // ... and saving like that single-file checkpoint writes one file again, side files copied recursively.
        let again = try HFCheckpoint.save(back.tensors, to: root + "/again", like: back)
        XCTAssertEqual(again.files, ["model.safetensors", "sub/dir/x.txt"])
        XCTAssertEqual(try STFixtures.sha256(ofFile: root + "/again/model.safetensors"), try STFixtures.sha256(ofFile: root + "/single/model.safetensors"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/again/sub/dir/x.txt")), Data([1, 2]))

        XCTAssertThrowsError(try HFCheckpoint.save(model, to: root + "/bad", maxShardBytes: 10, sideFiles: ["../x": []]))
    }

    /// huggingface_hub's rule: a tensor above the limit gets its own shard, placed where it occurs,
    /// while the current shard keeps filling.
    func testShardPlanRules() {
        let map = TensorMap([("a", Tensor.zeros(.u8, [6])), ("b", .zeros(.u8, [10])), ("c", .zeros(.u8, [30])),
                             ("d", .zeros(.u8, [2])), ("e", .zeros(.u8, [2]))])
        let plan = HFCheckpoint.shardPlan(map, maxShardBytes: 10)
        XCTAssertEqual(plan.map(\.file), (1...4).map { "model-0000\($0)-of-00004.safetensors" })
        XCTAssertEqual(plan.map(\.names), [["a"], ["c"], ["b"], ["d", "e"]])
        XCTAssertEqual(HFCheckpoint.shardPlan(map, maxShardBytes: 100).map(\.file), ["model.safetensors"])
        XCTAssertEqual(HFCheckpoint.shardPlan(TensorMap(), maxShardBytes: 100).map(\.names), [[]])
    }
}
