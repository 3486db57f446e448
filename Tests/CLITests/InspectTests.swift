import Foundation
import XCTest
@testable import CLI
import Ops

/// `mm-convert inspect`: exact table lines and JSON fields for the shared fixtures, filters, and
/// errors for paths it cannot read.
final class InspectTests: XCTestCase {
    func testTorchTrainingCheckpointTable() throws {
        let path = InspectFixtures.fixture("torch/megatron_ckpt.pt")
        let run = CLIRun(["inspect", path])
        XCTAssertEqual(run.status, 0, run.errText)
        let lines = run.out
        XCTAssertEqual(Array(lines.prefix(5)), ["torch checkpoint: \(path)", "  object: dict", "  keys: 8", "non-tensor entries:", "  args.num_layers: 2"])
        for expected in ["  args.params_dtype: torch.bfloat16", "  args.data_path: [\"1.0\", \"/data/text_document\"]",
                         "  args.num_query_groups: null", "  args.lr: 0.0001", "  checkpoint_version: 3.0", "  iteration: 1000",
                         "  opt_param_scheduler.lr_decay_style: cosine",
                         "model",
                         "  name                                                          dtype     shape    bytes",
                         "  embedding.word_embeddings.weight                              bfloat16  [16, 8]    256",
                         "  decoder.layers.0.self_attention.linear_qkv.layer_norm_weight  bfloat16  [8]         16",
                         "  decoder.layers.0.mlp.linear_fc1._extra_state                  skipped (_io.BytesIO)",
                         "  output_layer._extra_state                                     skipped (NoneType)",
                         "  subtotal: 14 tensors, 3136 bytes (3.1 KiB), 1568 parameters",
                         "  state/0/step                                                  float32   []           4",
                         "  param_groups                                                  skipped (list)",
                         "  0/torch_rng_state                                             uint8     [5056]    5056",
                         "total: 30 tensors, 12188 bytes (11.9 KiB), 7659 parameters"] {
            XCTAssertTrue(lines.contains(expected), "missing line: \(expected)")
        }
        XCTAssertEqual(lines.filter { $0.contains("skipped (") }.count, 10)
        XCTAssertEqual(lines.filter { !$0.hasPrefix(" ") && !$0.isEmpty && !$0.contains(":") }, ["model", "optimizer", "rng_state"])
    }

    func testStateDictFileIsOneUntitledTable() throws {
        let path = InspectFixtures.fixture("torch/dtypes.pt")
        let run = CLIRun(["inspect", path])
        XCTAssertEqual(run.out, [
            "torch checkpoint: \(path)", "  object: dict", "  keys: 15", "",
            "  name             dtype     shape         bytes",
            "  float32          float32   [2, 4]           32",
            "  float16          float16   [2, 4]           16",
            "  bfloat16         bfloat16  [4, 2]           16",
            "  float64          float64   [2, 3]           48",
            "  int64            int64     [6]              48",
            "  int32            int32     [3, 4]           48",
            "  int16            int16     [5]              10",
            "  int8             int8      [5]               5",
            "  uint8            uint8     [6]               6",
            "  bool             bool      [2, 3]            6",
            "  scalar_0dim_f32  float32   []                4",
            "  scalar_0dim_i64  int64     []                8",
            "  empty_f32        float32   [0]               0",
            "  empty_2d_bf16    bfloat16  [3, 0]            0",
            "  rank4_f16        float16   [2, 3, 2, 2]     48", "",
            "total: 15 tensors, 295 bytes, 96 parameters"])
    }

    func testMindSpeedDirectoryPerRank() throws {
        let path = InspectFixtures.fixture("golden/qwen2vl_tp2_pp3")
        let run = CLIRun(["inspect", path])
        XCTAssertEqual(run.status, 0, run.errText)
        let lines = run.out
        XCTAssertEqual(Array(lines.prefix(8)), [
            "MindSpeed-MM checkpoint: \(path)", "  iteration: release", "  parallel: tp 2, pp 3, ep 1, vpp 1", "  rank files: 6",
            "non-tensor entries:", "  checkpoint_version: 3.0", "",
            "mp_rank_00_000 (tp 0, pp 0, ep 0) model  [release/mp_rank_00_000/model_optim_rng.pt]"])
        XCTAssertEqual(lines[8], "  name" + String(repeating: " ", count: 67) + "  dtype     shape               bytes")
        XCTAssertTrue(lines.contains("  text_decoder.embedding.word_embeddings.weight                            bfloat16  [192, 64]           24576"))
        XCTAssertEqual(lines.filter { $0.hasPrefix("mp_rank_") }, [
            "mp_rank_00_000 (tp 0, pp 0, ep 0) model  [release/mp_rank_00_000/model_optim_rng.pt]",
            "mp_rank_00_001 (tp 0, pp 1, ep 0) model  [release/mp_rank_00_001/model_optim_rng.pt]",
            "mp_rank_00_002 (tp 0, pp 2, ep 0) model  [release/mp_rank_00_002/model_optim_rng.pt]",
            "mp_rank_01_000 (tp 1, pp 0, ep 0) model  [release/mp_rank_01_000/model_optim_rng.pt]",
            "mp_rank_01_001 (tp 1, pp 1, ep 0) model  [release/mp_rank_01_001/model_optim_rng.pt]",
            "mp_rank_01_002 (tp 1, pp 2, ep 0) model  [release/mp_rank_01_002/model_optim_rng.pt]"])
        XCTAssertEqual(lines.filter { $0.hasPrefix("  subtotal") }, [
            "  subtotal: 39 tensors, 200128 bytes (195.4 KiB), 100064 parameters",
            "  subtotal: 14 tensors, 99072 bytes (96.8 KiB), 49536 parameters",
            "  subtotal: 9 tensors, 74240 bytes (72.5 KiB), 37120 parameters",
            "  subtotal: 39 tensors, 200128 bytes (195.4 KiB), 100064 parameters",
            "  subtotal: 14 tensors, 99072 bytes (96.8 KiB), 49536 parameters",
            "  subtotal: 9 tensors, 74240 bytes (72.5 KiB), 37120 parameters"])
        XCTAssertEqual(lines.last, "total: 124 tensors, 746880 bytes (729.4 KiB), 373440 parameters")
    }

    func testVirtualPipelineChunks() throws {
        let s = try CheckpointSummary.load(InspectFixtures.fixture("golden/qwen2vl_tp1_vpp2"))
        XCTAssertEqual(s.kind, .mm)
        XCTAssertEqual(s.groups.map(\.title), ["mp_rank_00_000 (tp 0, pp 0, ep 0) model0", "mp_rank_00_000 (tp 0, pp 0, ep 0) model1",
                                              "mp_rank_00_001 (tp 0, pp 1, ep 0) model0", "mp_rank_00_001 (tp 0, pp 1, ep 0) model1"])
        XCTAssertEqual(s.groups.map(\.chunk), ["model0", "model1", "model0", "model1"])
        XCTAssertEqual(CheckpointSummary.inline(s.facts[1].1), "tp 1, pp 2, ep 1, vpp 2")
    }

    /// A training-style MindSpeed-MM directory (iter_N, args, skipped _extra_state entries).
    func testMindSpeedTrainingDirectory() throws {
        let dir = try TemporaryDirectory("inspect-mm")
        defer { dir.remove() }
        let args = PickleObject(module: "argparse", name: "Namespace", construction: .newobj, args: [],
                                state: .dict(PickleDict(strings: [("tensor_model_parallel_size", .int(2)), ("params_dtype", .dtype(.bf16))])))
        for tp in 0..<2 {
            let model = PickleDict(strings: [
                ("decoder.layers.0.mlp.linear_fc1.weight", .tensor(TorchTensor(try InspectTensors.tensor(.bf16, [4, 2], seed: tp)))),
                ("decoder.layers.0.mlp.linear_fc1._extra_state", .none),
            ])
            let root = PickleValue.dict(PickleDict(strings: [("args", .object(args)), ("checkpoint_version", .float(3.0)),
                                                             ("iteration", .int(5)), ("model", .dict(model))]))
            let rankDir = dir.path("iter_0000005/mp_rank_0\(tp)")
            try FileManager.default.createDirectory(atPath: rankDir, withIntermediateDirectories: true)
            try TorchCheckpoint.save(root, to: rankDir + "/model_optim_rng.pt")
        }
        try "5".write(toFile: dir.path("latest_checkpointed_iteration.txt"), atomically: true, encoding: .utf8)
        let lines = CLIRun(["inspect", dir.url.path]).out
        XCTAssertEqual(Array(lines.prefix(11)), [
            "MindSpeed-MM checkpoint: \(dir.url.path)", "  iteration: iter_0000005", "  parallel: tp 2, pp 1, ep 1, vpp 1", "  rank files: 2",
            "non-tensor entries:", "  args.tensor_model_parallel_size: 2", "  args.params_dtype: torch.bfloat16", "  checkpoint_version: 3.0",
            "  iteration: 5", "",
            "mp_rank_00 (tp 0, pp 0, ep 0) model  [iter_0000005/mp_rank_00/model_optim_rng.pt]"])
        XCTAssertEqual(lines.filter { $0.contains("skipped") }, [
            "  decoder.layers.0.mlp.linear_fc1._extra_state  skipped (NoneType)",
            "  decoder.layers.0.mlp.linear_fc1._extra_state  skipped (NoneType)"])
        XCTAssertEqual(lines.last, "total: 2 tensors, 32 bytes, 16 parameters")
    }

    func testHFDirectoryTable() throws {
        let path = InspectFixtures.fixture("hf/qwen2vl")
        let lines = CLIRun(["inspect", path]).out
        XCTAssertEqual(Array(lines.prefix(5)), ["Hugging Face checkpoint: \(path)", "  shards: 2", "  index: model.safetensors.index.json",
                                               "  side files: [\"README.md\", \"config.json\", \"generation_config.json\", \"tokenizer_config.json\"]",
                                               "non-tensor entries:"])
        for expected in ["  config.architectures: [\"Qwen2VLForConditionalGeneration\"]", "  config.model_type: qwen2_vl",
                         "  config.num_hidden_layers: 4", "  config.vision_config.depth: 2", "  config.tie_word_embeddings: false",
                         "  index.total_size: 669440", "  __metadata__.format: pt",
                         "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                         "  model.layers.0.self_attn.k_proj.weight          bfloat16  [32, 64]             4096",
                         "  visual.patch_embed.proj.weight                  bfloat16  [32, 3, 2, 14, 14]  75264"] {
            XCTAssertTrue(lines.contains(expected), "missing line: \(expected)")
        }
        XCTAssertEqual(lines.last, "total: 82 tensors, 669440 bytes (653.8 KiB), 334720 parameters")
    }

    func testSafetensorsFileTable() throws {
        let path = InspectFixtures.fixture("hf/qwen2vl/model-00002-of-00002.safetensors")
        let lines = CLIRun(["inspect", path]).out
        XCTAssertEqual(Array(lines.prefix(7)), [
            "safetensors file: \(path)", "  header bytes: 3600", "non-tensor entries:", "  __metadata__.format: pt", "",
            "  name                                            dtype     shape      bytes",
            "  lm_head.weight                                  bfloat16  [384, 64]  49152"])
    }

    func testJSONParsesBackWithSameInformation() throws {
        let run = CLIRun(["inspect", "--json", InspectFixtures.fixture("golden/qwen2vl_tp2_pp3")])
        XCTAssertEqual(run.status, 0, run.errText)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.outText.utf8)) as? [String: Any])
        XCTAssertEqual(doc["kind"] as? String, "mm")
        let facts = try XCTUnwrap(doc["facts"] as? [String: Any])
        XCTAssertEqual(facts["parallel"] as? [String: Int], ["tp": 2, "pp": 3, "ep": 1, "vpp": 1])
        XCTAssertEqual(facts["iteration"] as? String, "release")
        XCTAssertEqual((doc["entries"] as? [String: Any])?["checkpoint_version"] as? Double, 3.0)
        XCTAssertEqual(doc["totals"] as? [String: Int], ["tensors": 124, "bytes": 746880, "parameters": 373440])
        let groups = try XCTUnwrap(doc["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.count, 6)
        XCTAssertEqual(groups[1]["rank"] as? [String: Int], ["tp": 0, "pp": 1, "ep": 0])
        XCTAssertEqual(groups[1]["file"] as? String, "release/mp_rank_00_001/model_optim_rng.pt")
        let tensors = try XCTUnwrap(groups[0]["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.count, 39)
        let embed = try XCTUnwrap(tensors.first { $0["name"] as? String == "text_decoder.embedding.word_embeddings.weight" })
        XCTAssertEqual(embed["dtype"] as? String, "bfloat16")
        XCTAssertEqual(embed["shape"] as? [Int], [192, 64])
        XCTAssertEqual(embed["bytes"] as? Int, 24576)
        XCTAssertEqual(embed["parameters"] as? Int, 12288)

        let torch = CLIRun(["inspect", InspectFixtures.fixture("torch/megatron_ckpt.pt"), "--json"])
        let t = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(torch.outText.utf8)) as? [String: Any])
        let args = try XCTUnwrap((t["entries"] as? [String: Any])?["args"] as? [String: Any])
        XCTAssertEqual(args["params_dtype"] as? String, "torch.bfloat16")
        XCTAssertEqual(args["tensor_model_parallel_size"] as? Int, 1)
        XCTAssertTrue(args["num_query_groups"] is NSNull)
        let model = try XCTUnwrap((t["groups"] as? [[String: Any]])?.first)
        XCTAssertEqual(model["title"] as? String, "model")
        let skipped = try XCTUnwrap(model["skipped"] as? [[String: String]])
        XCTAssertEqual(skipped.last, ["name": "output_layer._extra_state", "type": "NoneType"])
        XCTAssertEqual(skipped.count, 9)
    }

    func testFilter() throws {
        let path = InspectFixtures.fixture("hf/qwen2vl")
        let glob = CLIRun(["inspect", path, "--filter", "model.layers.0.self_attn.*.weight"])
        XCTAssertEqual(glob.out.filter { $0.hasPrefix("  model.") }.map { $0.split(separator: " ")[0] },
                       ["model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                        "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight"])
        XCTAssertEqual(glob.out.last, "total: 4 tensors, 24576 bytes (24.0 KiB), 12288 parameters (matching 'model.layers.0.self_attn.*.weight': 4 of 82 tensors)")
        XCTAssertFalse(glob.out.contains("model-00002-of-00002.safetensors"), "a group without matches is dropped")
        let text = try CheckpointSummary.load(path).filtered(by: "lm_head")
        XCTAssertEqual(text.groups.flatMap(\.tensors).map(\.name), ["lm_head.weight"])
        XCTAssertTrue(NameFilter("a*b?c").matches("axxbyc"))
        XCTAssertFalse(NameFilter("a*b?c").matches("axxbc"))
        XCTAssertTrue(NameFilter("*").matches(""))
        let json = CLIRun(["inspect", path, "--json", "--filter", "nothing-matches"])
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.outText.utf8)) as? [String: Any])
        XCTAssertEqual((doc["groups"] as? [Any])?.count, 0)
        XCTAssertEqual((doc["unfiltered_totals"] as? [String: Int])?["tensors"], 82)
    }

    func testErrors() throws {
        let dir = try TemporaryDirectory("inspect-errors")
        defer { dir.remove() }
        let missing = CLIRun(["inspect", dir.path("nope.pt")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.errText, "mm-convert: error: \(dir.path("nope.pt")): no such file or directory")
        _ = FileManager.default.createFile(atPath: dir.path("notes.txt"), contents: Data("hello".utf8))
        let unknown = CLIRun(["inspect", dir.path("notes.txt")])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.errText.contains("notes.txt: unknown file kind (expected a .safetensors file, a torch .pt/.pth/.bin file"), unknown.errText)
        let empty = CLIRun(["inspect", dir.url.path])
        XCTAssertTrue(empty.errText.contains("is a directory but neither a Hugging Face checkpoint"), empty.errText)
        let release = CLIRun(["inspect", InspectFixtures.fixture("golden/qwen2vl_tp1_pp1/release")])
        XCTAssertTrue(release.errText.contains("pass the checkpoint directory above it"), release.errText)
        _ = FileManager.default.createFile(atPath: dir.path("bad.pt"), contents: Data("PK not really".utf8))
        XCTAssertEqual(CLIRun(["inspect", dir.path("bad.pt")]).status, 1)
        let usage = CLIRun(["inspect"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.errText.hasPrefix("mm-convert: error: inspect needs a path\nusage: mm-convert inspect PATH"), usage.errText)
        XCTAssertTrue(CLIRun(["inspect", "x", "--fliter", "a"]).errText.contains("unknown option --fliter (did you mean --filter?)"))
    }
}
