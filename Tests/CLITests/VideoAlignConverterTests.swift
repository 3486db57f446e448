import CLI
import Foundation
import Ops
import XCTest

/// VideoAlignConverter: a Qwen2-VL reward model (reference §7.8). There is no VideoAlign fixture,
/// so the inputs are the tiny Qwen2-VL sample re-saved as VideoAlign checkpoints: a reward head
/// `rm_head.weight`, optionally a `model_prefix`, the newer key layout and PEFT `.base_layer`
/// names. The MindSpeed-MM side must be Qwen2-VL's plus the reward head (wrapped weights under
/// their `.base_layer` names, split like the unwrapped ones), and every direction must give the
/// input back byte for byte in its own names.
final class VideoAlignConverterTests: XCTestCase {
    let converter = "VideoAlignConverter"
    let prefix = "base_model.model."

    override class func tearDown() {
        Converters.removeSamples()
        super.tearDown()
    }

    /// The linear layers PEFT wraps in these tests (module names after `model.layers.N.` /
    /// `visual.blocks.N.` / `visual.`).
    static let wrappable = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
                            "attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2", "merger.mlp.0", "merger.mlp.2"]

    /// A VideoAlign checkpoint made of the Qwen2-VL checkpoint `source`: the same shards (by
    /// file), the names changed (`wrap`: these modules get PEFT's `.base_layer`; `newer`: newer
    /// transformers' layout; then `prefix`), `rm_head.weight` [rmRows, hidden], LoRA adapters of
    /// the `adapters` modules (`.lora_A.default.weight` [8, in], `.lora_B.default.weight` [out, 8];
    /// the ViT qkv's lora_B is the qkv weight itself, of rank = its width, so its conversion can be
    /// compared with the weight's) and `extra` tensors added to the last shard, the index and side
    /// files to match.
    static func videoAlignCopy(of source: String, to directory: String, prefix: String = "", newer: Bool = false,
                               wrap: [String] = [], adapters: [String] = [], rmRows: Int = 1, extra: [String: Tensor] = [:]) throws {
        func layout(_ original: String) -> String {
            var n = original
            if newer {
                if n.hasPrefix("visual.") { n = "model." + n } else if n.hasPrefix("model.") { n = "model.language_model." + n.dropFirst("model.".count) }
            }
            return prefix + n
        }
        func module(_ name: String, _ modules: [String]) -> (String, String)? {
            guard name.hasPrefix("model.layers.") || name.hasPrefix("visual.") else { return nil }
            for m in modules { if let r = name.range(of: "." + m + ".") { return (String(name[..<r.upperBound]), String(name[r.upperBound...])) } }
            return nil
        }
        func renamed(_ original: String) -> String {
            guard let (m, rest) = module(original, wrap) else { return layout(original) }
            return layout(m + "base_layer." + rest)
        }
        let ckpt = try HFCheckpoint.load(source)
        guard case let .int(hidden)? = ckpt.config?["hidden_size"] else { throw ConverterTestError("\(source): no hidden_size in config.json") }
        var added = TensorMap()
        added[prefix + "rm_head.weight"] = try RandomPool(dtype: .bf16, bytes: 1 << 12, seed: 11).tensor("rm_head.weight", [rmRows, hidden])
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 16, seed: 13)
        for (name, t) in ckpt.tensors where name.hasSuffix(".weight") {
            guard let (m, rest) = module(name, adapters), rest == "weight", t.shape.count == 2 else { continue }
            let (out, inWidth) = (t.shape[0], t.shape[1])
            let qkv = m.hasPrefix("visual.blocks.") && m.hasSuffix(".attn.qkv.")
            let rank = qkv ? inWidth : 8
            added[layout(m + "lora_A.default.weight")] = try pool.tensor(m + "lora_A", [rank, inWidth])
            added[layout(m + "lora_B.default.weight")] = qkv ? t : try pool.tensor(m + "lora_B", [out, rank])
        }
        for (name, t) in extra.sorted(by: { $0.key < $1.key }) { added[name] = t }
        try CheckpointFiles.makeDirectory(directory)
        let index = try XCTUnwrap(ckpt.index)
        let files = index.shardFiles
        var weightMap: [(tensor: String, file: String)] = []
        for file in files {
            var tensors = TensorMap(ckpt.weightMap.filter { $0.file == file }.map { (renamed($0.tensor), ckpt.tensors[$0.tensor]!) })
            if file == files.last { for (n, t) in added { tensors[n] = t } }
            try SafetensorsWriter.write(tensors, metadata: ckpt.metadata[file], to: directory + "/" + file)
            weightMap += tensors.names.map { ($0, file) }
        }
        let total = ckpt.tensors.totalBytes + added.totalBytes
        let newIndex = SafetensorsIndex(metadata: [("total_size", .int(total))], weightMap: weightMap.sorted { $0.tensor < $1.tensor })
        try CheckpointFiles.writeFile(newIndex.encoded(), to: directory + "/" + SafetensorsIndex.fileName)
        for rel in ckpt.sideFiles { try CheckpointFiles.copyFile(from: source + "/" + rel, to: directory + "/" + rel) }
    }

    /// `summary` with every name changed by `rename` (nil: left out).
    static func renamed(_ s: Converters.MMSummary, _ rename: (String) -> String?) -> Converters.MMSummary {
        var out = s
        out.models = s.models.mapValues { models in
            models.mapValues { entries in
                Dictionary(uniqueKeysWithValues: entries.compactMap { n, e in rename(n).map { ($0, e) } })
            }
        }
        return out
    }

    /// The reward head of every rank file that holds it (the LLM's last stage, every TP rank).
    static func rmHeads(_ s: Converters.MMSummary) -> [String: Converters.Entry] {
        var out: [String: Converters.Entry] = [:]
        for (rel, models) in s.models { for (key, entries) in models { if let e = entries["rm_head.weight"] { out[rel + " " + key] = e } } }
        return out
    }

    func hfToMM(_ hf: String, _ mm: String, tp: Int, llm: [[Int]], vit: [[Int]], extra: [String] = []) throws {
        try Converters.hfToMM(converter, hf: hf, to: mm, tp: tp, llm: llm, vit: vit, extra: extra)
    }

    func mmToHF(_ mm: String, _ hf: String, _ out: String, tp: Int, extra: [String] = []) throws {
        try Converters.mmToHF(converter, mm: mm, hf: hf, to: out, tp: tp, extra: extra)
    }

    // MARK: - Plain checkpoints, model_prefix, the newer key layout

    /// Qwen2-VL's ranks plus the reward head, replicated on both TP ranks of the last LLM stage;
    /// mm_to_hf and a resplit (to VPP and back through mm_to_hf) give the input back byte for byte.
    func testPlainCheckpointIsQwen2VLWithTheRewardHead() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let hf = s.path("videoalign")
        try Self.videoAlignCopy(of: qwen, to: hf, rmRows: 3)

        let mm = s.path("mm"), reference = s.path("qwen2vl-mm")
        try hfToMM(hf, mm, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
        try Converters.hfToMM("Qwen2VLConverter", hf: qwen, to: reference, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
        let got = try Converters.summary(ofMM: mm, bytes: true)
        Converters.assertEqual(Self.renamed(got) { $0 == "rm_head.weight" ? nil : $0 }, try Converters.summary(ofMM: reference, bytes: true),
                               "VideoAlign without rm_head = Qwen2-VL")
        let heads = Self.rmHeads(got)
        XCTAssertEqual(heads.keys.sorted(), ["release/mp_rank_00_002/model_optim_rng.pt model", "release/mp_rank_01_002/model_optim_rng.pt model"])
        let rm = try HFCheckpoint.load(hf).tensors["rm_head.weight"]!
        for e in heads.values { XCTAssertEqual(e, Converters.Entry(dtype: "bfloat16", shape: [3, 64], sha256: "", bytes: try Converters.content(rm))) }

        let back = s.path("back")
        try mmToHF(mm, hf, back, tp: 2)
        try Converters.assertSameFiles(back, hf, "mm_to_hf")

        let vpp = s.path("vpp"), back2 = s.path("back-vpp")
        try Converters.resplit(converter, from: mm, .init(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),
                               to: vpp, .init(tp: 1, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]))
        XCTAssertEqual(Self.rmHeads(try Converters.summary(ofMM: vpp, bytes: true)).keys.sorted(), ["release/mp_rank_00_001/model_optim_rng.pt model1"])
        try mmToHF(vpp, hf, back2, tp: 1)
        try Converters.assertSameFiles(back2, hf, "resplit, then mm_to_hf")
    }

    /// With model_prefix and the newer key layout the ranks are the plain checkpoint's; mm_to_hf
    /// writes the names of whichever original it is given.
    func testModelPrefixAndNewerKeyLayout() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let plain = s.path("plain"), wrapped = s.path("prefixed-newer")
        try Self.videoAlignCopy(of: qwen, to: plain)
        try Self.videoAlignCopy(of: qwen, to: wrapped, prefix: prefix, newer: true)
        XCTAssertTrue(try HFCheckpoint.load(wrapped).tensors.contains("base_model.model.model.language_model.layers.0.self_attn.q_proj.weight"))
        XCTAssertTrue(try HFCheckpoint.load(wrapped).tensors.contains("base_model.model.model.visual.blocks.0.attn.qkv.weight"))

        let mmPlain = s.path("mm-plain"), mm = s.path("mm")
        try hfToMM(plain, mmPlain, tp: 2, llm: [[2, 2]], vit: [[2, 0]])
        try hfToMM(wrapped, mm, tp: 2, llm: [[2, 2]], vit: [[2, 0]],
                   extra: ["--cfg.common_model_config.model_prefix", prefix, "--cfg.common_model_config.new_transformers_weight_key", "true"])
        Converters.assertEqual(try Converters.summary(ofMM: mm, bytes: true), try Converters.summary(ofMM: mmPlain, bytes: true), "prefix + newer layout")

        let back = s.path("back"), backPlain = s.path("back-plain")
        try mmToHF(mm, wrapped, back, tp: 2, extra: ["--cfg.common_model_config.model_prefix", prefix])
        try Converters.assertSameFiles(back, wrapped, "mm_to_hf to the prefixed newer layout")
        try mmToHF(mm, plain, backPlain, tp: 2)
        try Converters.assertSameFiles(backPlain, plain, "mm_to_hf to the plain layout")

        // A prefix that is not the checkpoint's, or a layout flag that contradicts its names.
        let noPrefix = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", wrapped, "--cfg.mm_dir", s.path("x"),
                                              "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"])
        XCTAssertEqual(noPrefix.status, 1)
        XCTAssertTrue(noPrefix.text.contains("the checkpoint has no 'visual.patch_embed.proj.weight' or no 'model.embed_tokens.weight': is model_prefix ('') the text before the names of the checkpoint?"), noPrefix.text)
        let flag = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", plain, "--cfg.mm_dir", s.path("x"),
                                          "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]",
                                          "--cfg.common_model_config.new_transformers_weight_key", "true"])
        XCTAssertTrue(flag.text.contains("new_transformers_weight_key is true, but the checkpoint's names are in the classic key layout (visual., model.)"), flag.text)
        let back3 = Converters.runFailing([converter, "mm_to_hf", "--cfg.mm_dir", mm, "--cfg.hf_config.hf_dir", wrapped, "--cfg.save_hf_dir", s.path("x"),
                                           "--cfg.parallel_config.tp_size", "2"])
        XCTAssertTrue(back3.text.contains("is model_prefix ('') the text before the names of the checkpoint?"), back3.text)
    }

    // MARK: - PEFT-wrapped weights

    /// `.base_layer` names: q/k/v and gate/up merge into `linear_qkv.base_layer` /
    /// `linear_fc1.base_layer`, every wrapped weight is the plain checkpoint's tensor under its
    /// wrapped name, split over TP like it (the reference replicates them, §9 Q24); round trips
    /// through mm_to_hf and resplit, default and canonical model.
    func testPEFTWrappedWeights() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let plain = s.path("plain"), peft = s.path("peft")
        try Self.videoAlignCopy(of: qwen, to: plain)
        try Self.videoAlignCopy(of: qwen, to: peft, prefix: prefix, wrap: Self.wrappable)
        let names = try HFCheckpoint.load(peft).tensors.names
        XCTAssertTrue(names.contains("base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight"))
        XCTAssertTrue(names.contains("base_model.model.visual.merger.mlp.0.base_layer.bias"))
        let wrappedMM = ["text_decoder.decoder.layers.{L}.self_attention.linear_qkv", "text_decoder.decoder.layers.{L}.self_attention.linear_proj",
                         "text_decoder.decoder.layers.{L}.mlp.linear_fc1", "text_decoder.decoder.layers.{L}.mlp.linear_fc2",
                         "image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv", "image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj",
                         "image_encoder.encoder.blocks.layers.{L}.mlp.linear_fc1", "image_encoder.encoder.blocks.layers.{L}.mlp.linear_fc2",
                         "image_encoder.projector.encoder.linear_fc1", "image_encoder.projector.encoder.linear_fc2"]
        let canonicalMM = wrappedMM.filter { !$0.hasSuffix("linear_qkv") && !$0.hasPrefix("text_decoder.decoder.layers.{L}.mlp.linear_fc1") }
            + ["image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv"]
            + ["q_proj", "k_proj", "v_proj"].map { "text_decoder.decoder.layers.{L}.self_attention." + $0 }
            + ["gate_proj", "up_proj"].map { "text_decoder.decoder.layers.{L}.mlp." + $0 }
        let option = ["--cfg.common_model_config.model_prefix", prefix]
        for (canonical, modules) in [(false, wrappedMM), (true, canonicalMM)] {
            let flag = canonical ? ["--cfg.common_model_config.enable_canonical_hf_struct", "true"] : []
            let label = canonical ? "canonical" : "default"
            let mmPlain = s.path("mm-plain"), mm = s.path("mm")
            try hfToMM(plain, mmPlain, tp: 2, llm: [[1, 3]], vit: [[2, 0]], extra: flag)
            try hfToMM(peft, mm, tp: 2, llm: [[1, 3]], vit: [[2, 0]], extra: option + flag)
            let patterns = try modules.map { try NamePattern($0 + ".*") }
            func unwrapped(_ n: String) -> String? {
                guard n.contains(".base_layer.") else {
                    XCTAssertFalse(patterns.contains { $0.matches(n) }, "\(label): \(n) is not wrapped")
                    return n
                }
                let plainName = n.replacingOccurrences(of: ".base_layer.", with: ".")
                XCTAssertTrue(patterns.contains { $0.matches(plainName) }, "\(label): \(n) should not be wrapped")
                return plainName
            }
            Converters.assertEqual(Self.renamed(try Converters.summary(ofMM: mm, bytes: true), unwrapped),
                                   try Converters.summary(ofMM: mmPlain, bytes: true), "\(label): PEFT = plain under .base_layer names")
            let back = s.path("back")
            try mmToHF(mm, peft, back, tp: 2, extra: option + flag)
            try Converters.assertSameFiles(back, peft, "\(label): mm_to_hf")
            let target = s.path("tp1"), back2 = s.path("back-tp1")
            try Converters.resplit(converter, from: mm, .init(tp: 2, llm: [[1, 3]], vit: [[2, 0]]), to: target, .init(tp: 1, llm: [[4]], vit: [[2]]),
                                   extra: flag)
            try mmToHF(target, peft, back2, tp: 1, extra: option + flag)
            try Converters.assertSameFiles(back2, peft, "\(label): resplit to TP 1, then mm_to_hf")
        }
    }

    /// LoRA adapters of the layers that map one to one convert with them and come back; the ViT
    /// qkv's lora_B is interleaved per head like the qkv weight; over TP, lora_B of a
    /// column-parallel layer splits by rows, lora_A of a row-parallel one by columns. In the
    /// canonical model q/k/v and gate/up adapters convert too. save_lora_only writes the adapters.
    func testLoRAAdapters() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let oneToOne = ["self_attn.o_proj", "mlp.down_proj", "attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2", "merger.mlp.0", "merger.mlp.2"]
        let hf = s.path("adapters")
        try Self.videoAlignCopy(of: qwen, to: hf, prefix: prefix, wrap: Self.wrappable, adapters: oneToOne)
        let option = ["--cfg.common_model_config.model_prefix", prefix]
        let mm = s.path("mm")
        try hfToMM(hf, mm, tp: 2, llm: [[1, 3]], vit: [[2, 0]], extra: option)
        let first = try TorchCheckpoint.load(mm + "/release/mp_rank_01_000/model_optim_rng.pt")["model"]!.dictValue!
        func shape(_ n: String) -> [Int]? { first[n]?.tensorValue?.tensor.shape }
        XCTAssertEqual(shape("text_decoder.decoder.layers.0.self_attention.linear_proj.lora_A.default.weight"), [8, 32])
        XCTAssertEqual(shape("text_decoder.decoder.layers.0.self_attention.linear_proj.lora_B.default.weight"), [64, 8])
        XCTAssertEqual(shape("text_decoder.decoder.layers.0.mlp.linear_fc2.lora_A.default.weight"), [8, 96])
        XCTAssertEqual(shape("image_encoder.encoder.blocks.layers.0.mlp.linear_fc1.lora_B.default.weight"), [64, 8])
        XCTAssertEqual(shape("image_encoder.encoder.blocks.layers.0.mlp.linear_fc1.lora_A.default.weight"), [8, 32])
        // The qkv's lora_B is the qkv weight: converted, it is the converted weight's rank part.
        for l in 0..<2 {
            let base = "image_encoder.encoder.blocks.layers.\(l).self_attention.linear_qkv."
            XCTAssertEqual(try Converters.content(try XCTUnwrap(first[base + "lora_B.default.weight"]?.tensorValue?.tensor)),
                           try Converters.content(try XCTUnwrap(first[base + "base_layer.weight"]?.tensorValue?.tensor)), "layer \(l)")
        }
        let back = s.path("back"), tp1 = s.path("tp1"), back1 = s.path("back-tp1")
        try mmToHF(mm, hf, back, tp: 2, extra: option)
        try Converters.assertSameFiles(back, hf, "adapters: mm_to_hf")
        try Converters.resplit(converter, from: mm, .init(tp: 2, llm: [[1, 3]], vit: [[2, 0]]), to: tp1, .init(tp: 1, llm: [[2, 2]], vit: [[2, 0]]))
        try mmToHF(tp1, hf, back1, tp: 1, extra: option)
        try Converters.assertSameFiles(back1, hf, "adapters: resplit, then mm_to_hf")

        // save_lora_only: the adapters alone, where their layers are.
        let lora = s.path("lora-only")
        try hfToMM(hf, lora, tp: 2, llm: [[1, 3]], vit: [[2, 0]], extra: option + ["--cfg.save_lora_only", "true"])
        let summary = try Converters.summary(ofMM: lora)
        let all = summary.models.values.flatMap { $0.values.flatMap(\.keys) }
        XCTAssertTrue(all.allSatisfy { $0.contains(".lora_") }, "\(all)")
        // lora_A and lora_B of: the LLM's o_proj and down_proj (stage 0 holds layer 0, stage 1
        // layers 1-3 as 0-2), the ViT's four linears (2 layers, stage 0), the merger's two.
        XCTAssertEqual(Set(all).count, 2 * (3 * 2 + 2 * 4 + 2))
        XCTAssertEqual(all.count, 2 * 2 * (4 * 2 + 2 * 4 + 2))  // on both TP ranks
        XCTAssertEqual(summary.models.count, 4)

        // Canonical: q, k, v, gate and up adapters convert too.
        let canonicalHF = s.path("canonical")
        try Self.videoAlignCopy(of: qwen, to: canonicalHF, wrap: Self.wrappable, adapters: Self.wrappable)
        let canonical = ["--cfg.common_model_config.enable_canonical_hf_struct", "true"]
        let mmC = s.path("mm-canonical"), backC = s.path("back-canonical")
        try hfToMM(canonicalHF, mmC, tp: 2, llm: [[4]], vit: [[2]], extra: canonical)
        try mmToHF(mmC, canonicalHF, backC, tp: 2, extra: canonical)
        try Converters.assertSameFiles(backC, canonicalHF, "canonical adapters: mm_to_hf")
        // ... but not in the default model, where q, k and v are one layer.
        let fused = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", canonicalHF, "--cfg.mm_dir", s.path("x"),
                                           "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"])
        XCTAssertEqual(fused.status, 1)
        XCTAssertTrue(fused.text.contains("refuse: tensor 'model.layers.0."), fused.text)
        XCTAssertTrue(fused.text.contains("q, k and v (gate and up) have one adapter each in Hugging Face and one fused layer in MindSpeed-MM"), fused.text)
    }

    /// Wrapping must agree within a fused module; adapters VideoAlign does not convert are refused.
    func testPartialWrappingAndAdaptersAreRefused() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let partial = s.path("partial")
        try Self.videoAlignCopy(of: qwen, to: partial, wrap: ["self_attn.q_proj", "self_attn.v_proj"])
        let args = ["--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"]
        let r1 = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", partial, "--cfg.mm_dir", s.path("x")] + args)
        XCTAssertTrue(r1.text.contains("'model.layers.0.self_attn.k_proj' and the module it is fused with in MindSpeed-MM differ in PEFT wrapping (.base_layer): q, k and v (gate and up) must all be wrapped or none"), r1.text)

        let lora = s.path("lora")
        try Self.videoAlignCopy(of: qwen, to: lora, wrap: Self.wrappable,
                                extra: ["model.embed_tokens.lora_embedding_A.default": .zeros(.bf16, [8, 384])])
        let r2 = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", lora, "--cfg.mm_dir", s.path("x")] + args)
        XCTAssertEqual(r2.status, 1)
        XCTAssertTrue(r2.text.contains("refuse: tensor 'model.embed_tokens.lora_embedding_A.default': a LoRA adapter VideoAlignConverter does not convert"), r2.text)

        let plain = s.path("plain")
        try Self.videoAlignCopy(of: qwen, to: plain)
        let r3 = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", plain, "--cfg.mm_dir", s.path("x"), "--cfg.save_lora_only", "true"] + args)
        XCTAssertTrue(r3.text.contains("keep: pattern 're:.*\\.lora_.*' matched no tensor"), r3.text)
    }

    // MARK: - resize_vocab_size

    /// A tied model, PP 2: the embedding padded with zero rows to resize_vocab_size, its copy as
    /// the output layer on the last stage; mm_to_hf with the same option gives the input back, and
    /// without it refuses to write an embedding of the wrong shape; shrinking is refused.
    func testResizeVocabSize() throws {
        let s = Converters.Scratch()
        let tied = try Converters.tiedSample(.qwen2vl, in: s)
        let hf = s.path("videoalign-tied")
        try Self.videoAlignCopy(of: tied, to: hf, prefix: prefix, newer: true, wrap: Self.wrappable)
        let options = ["--cfg.common_model_config.model_prefix", prefix, "--cfg.common_model_config.resize_vocab_size", "512"]
        let mm = s.path("mm")
        try hfToMM(hf, mm, tp: 2, llm: [[1, 3]], vit: [[2, 0]], extra: options)

        let embedding = try HFCheckpoint.load(hf).tensors["base_model.model.model.language_model.embed_tokens.weight"]!
        XCTAssertEqual(embedding.shape, [384, 64])
        let original = try Converters.content(embedding)
        for tp in 0..<2 {
            let first = try TorchCheckpoint.load(mm + "/release/mp_rank_0\(tp)_000/model_optim_rng.pt")["model"]!.dictValue!
            let last = try TorchCheckpoint.load(mm + "/release/mp_rank_0\(tp)_001/model_optim_rng.pt")["model"]!.dictValue!
            let part = try XCTUnwrap(first["text_decoder.embedding.word_embeddings.weight"]?.tensorValue?.tensor)
            XCTAssertEqual(part.shape, [256, 64])
            let bytes = try Converters.content(part)
            let rowBytes = 64 * 2
            let rows = tp == 0 ? 256 : 384 - 256
            XCTAssertEqual(bytes.prefix(rows * rowBytes), original.subdata(in: tp * 256 * rowBytes ..< (tp * 256 + rows) * rowBytes), "tp \(tp)")
            XCTAssertTrue(bytes.dropFirst(rows * rowBytes).allSatisfy { $0 == 0 }, "tp \(tp): the added rows are zeros")
            XCTAssertEqual(try Converters.content(try XCTUnwrap(last["text_decoder.output_layer.weight"]?.tensorValue?.tensor)), bytes, "tied copy, tp \(tp)")
            XCTAssertNotNil(last["rm_head.weight"])
        }

        let back = s.path("back")
        try mmToHF(mm, hf, back, tp: 2, extra: options)
        try Converters.assertSameFiles(back, hf, "mm_to_hf with resize_vocab_size")
        let forgot = Converters.runFailing([converter, "mm_to_hf", "--cfg.mm_dir", mm, "--cfg.hf_config.hf_dir", hf, "--cfg.save_hf_dir", s.path("x"),
                                            "--cfg.parallel_config.tp_size", "2", "--cfg.common_model_config.model_prefix", prefix])
        XCTAssertTrue(forgot.text.contains("tensor 'base_model.model.model.language_model.embed_tokens.weight': has shape [512, 64], but the original in \(hf) has [384, 64]"), forgot.text)

        // Resplit to PP 1 drops the tied copy; back again.
        let pp1 = s.path("pp1"), back2 = s.path("back-pp1")
        try Converters.resplit(converter, from: mm, .init(tp: 2, llm: [[1, 3]], vit: [[2, 0]]), to: pp1, .init(tp: 1, llm: [[4]], vit: [[2]]))
        let only = try TorchCheckpoint.load(pp1 + "/release/mp_rank_00/model_optim_rng.pt")["model"]!.dictValue!
        XCTAssertNil(only["text_decoder.output_layer.weight"])
        try mmToHF(pp1, hf, back2, tp: 1, extra: options)
        try Converters.assertSameFiles(back2, hf, "resplit to PP 1, then mm_to_hf")

        let shrink = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", s.path("x"),
                                            "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]",
                                            "--cfg.common_model_config.model_prefix", prefix, "--cfg.common_model_config.resize_vocab_size", "300"])
        XCTAssertTrue(shrink.text.contains("resize_vocab_size 300 is smaller than the vocabulary (384 rows)"), shrink.text)
    }

    // MARK: - pt_path

    /// pt_path: the weights from one torch.save state dict, config.json from hf_dir: the ranks of
    /// the same checkpoint in safetensors. mm_to_hf writes Hugging Face safetensors; its original
    /// is a directory with the state dict as `model.safetensors` (`mm-convert convert`), which
    /// comes back byte for byte; converted back to a .pt it holds the input's tensors (in the
    /// name order of safetensors, which sorts its header).
    func testPtPath() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let hf = s.path("videoalign")
        try Self.videoAlignCopy(of: qwen, to: hf, prefix: prefix, newer: true, wrap: Self.wrappable, rmRows: 2)
        let tensors = try HFCheckpoint.load(hf).tensors
        let ptDir = s.path("pt"), configOnly = s.path("config-only")
        try CheckpointFiles.makeDirectory(ptDir)
        try CheckpointFiles.makeDirectory(configOnly)
        let pt = ptDir + "/reward.pt"
        try TorchCheckpoint.save(.dict(PickleDict(strings: tensors.map { ($0.name, .tensor(TorchTensor($0.tensor))) })), to: pt)
        try CheckpointFiles.copyFile(from: hf + "/config.json", to: configOnly + "/config.json")

        let option = ["--cfg.common_model_config.model_prefix", prefix]
        let mm = s.path("mm"), fromSafetensors = s.path("mm-safetensors")
        try hfToMM(configOnly, mm, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]], extra: option + ["--cfg.pt_path", pt])
        try hfToMM(hf, fromSafetensors, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]], extra: option)
        Converters.assertEqual(try Converters.summary(ofMM: mm, bytes: true), try Converters.summary(ofMM: fromSafetensors, bytes: true), "pt_path")

        let original = s.path("original"), back = s.path("back"), again = s.path("again")
        try CheckpointFiles.makeDirectory(original)
        try CheckpointFiles.copyFile(from: hf + "/config.json", to: original + "/config.json")
        try Converters.run(["convert", pt, original + "/model.safetensors"])
        try mmToHF(mm, original, back, tp: 2, extra: option)
        try Converters.assertSameFiles(back, original, "mm_to_hf to the state dict as safetensors")
        let noNames = Converters.runFailing([converter, "mm_to_hf", "--cfg.mm_dir", mm, "--cfg.hf_config.hf_dir", configOnly,
                                             "--cfg.save_hf_dir", s.path("x"), "--cfg.parallel_config.tp_size", "2"] + option)
        XCTAssertTrue(noNames.text.contains("the Hugging Face directory lists no tensors (no *.safetensors), but mm_to_hf writes the names of the original"), noNames.text)
        try CheckpointFiles.makeDirectory(again)
        try Converters.run(["convert", back + "/model.safetensors", again + "/reward.pt"])
        func contents(_ path: String) throws -> [String: Data] {
            let sel = try StateDictSelection.select(try TorchCheckpoint.load(path), key: nil, path: path)
            XCTAssertEqual(sel.skipped, [])
            return Dictionary(uniqueKeysWithValues: try sel.tensors.map { ($0.name, try Converters.content($0.tensor)) })
        }
        XCTAssertEqual(try contents(again + "/reward.pt"), try contents(pt), "back to the .pt")

        let missing = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", configOnly, "--cfg.mm_dir", s.path("x"),
                                             "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]",
                                             "--cfg.pt_path", s.path("none.pt")] + option)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.text.contains("load pt"), missing.text)
    }

    /// `verify --roundtrip` passes the options mm_to_hf also uses (model_prefix,
    /// resize_vocab_size) on to it, and finds the round trip exact.
    func testVerifyRoundtrip() throws {
        CommandLineTool.installRoundTrip()
        defer { VerifyCommand.roundtrip = nil }
        let s = Converters.Scratch()
        let hf = s.path("videoalign")
        try Self.videoAlignCopy(of: try Converters.sample("qwen2vl"), to: hf, prefix: prefix, wrap: Self.wrappable)
        let lines = try Converters.run(["verify", hf, "--roundtrip", converter, "--tmp", s.root, "--",
                                        "--cfg.parallel_config.tp_size", "2", "--cfg.parallel_config.llm_pp_layers", "[[1,3]]",
                                        "--cfg.parallel_config.vit_pp_layers", "[[2,0]]", "--cfg.common_model_config.model_prefix", prefix,
                                        "--cfg.common_model_config.resize_vocab_size", "400"])
        XCTAssertTrue(lines.last?.hasPrefix("identical:") ?? false, lines.joined(separator: "\n"))
    }

    /// save_vit_only keeps the ViT whatever the prefix and layout (the reference keeps the names
    /// starting with `visual`, none of a prefixed checkpoint's, §9 Q27), as Qwen2-VL's ViT.
    func testSaveVitOnly() throws {
        let s = Converters.Scratch()
        let qwen = try Converters.sample("qwen2vl")
        let hf = s.path("videoalign")
        try Self.videoAlignCopy(of: qwen, to: hf, prefix: prefix, newer: true)
        let mm = s.path("vit"), reference = s.path("qwen2vl-vit")
        try hfToMM(hf, mm, tp: 2, llm: [[4]], vit: [[2]], extra: ["--cfg.common_model_config.model_prefix", prefix, "--cfg.save_vit_only", "true"])
        try Converters.hfToMM("Qwen2VLConverter", hf: qwen, to: reference, tp: 2, llm: [[4]], vit: [[2]], extra: ["--cfg.save_vit_only", "true"])
        Converters.assertEqual(try Converters.summary(ofMM: mm, bytes: true), try Converters.summary(ofMM: reference, bytes: true), "save_vit_only")
    }
}
