import Foundation
import XCTest
@testable import Ops

/// OpenSoraPlanConverter vae_convert (sora.md §7.5.4): which dict of the training checkpoint is
/// written, the EMA's `module.` prefix taken off, one flat .pt file of exactly those tensors.
final class OpenSoraPlanVAETests: XCTestCase {
    static func dict(_ t: TensorMap, prefix: String = "") -> PickleValue {
        .dict(PickleDict(strings: t.map { (prefix + $0.name, .tensor(TorchTensor($0.tensor))) }))
    }

    static func written(_ path: String) throws -> TensorMap {
        let root = try TorchCheckpoint.load(path)
        XCTAssertNotNil(root.dictValue)
        let sel = try StateDictSelection.select(root, key: nil, path: path)
        XCTAssertEqual(sel.key, "")
        XCTAssertTrue(sel.skipped.isEmpty)
        return sel.tensors
    }

    func assertSame(_ got: TensorMap, _ want: TensorMap, _ context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(got.names, want.names, context, file: file, line: line)
        for (name, t) in want {
            XCTAssertEqual(got[name]?.dtype, t.dtype, name, file: file, line: line)
            XCTAssertEqual(got[name]?.shape, t.shape, name, file: file, line: line)
            XCTAssertEqual(try got[name]?.sha256(), try t.sha256(), "\(context): \(name)", file: file, line: line)
        }
    }

    func testSelectionAndPrefix() throws {
        let s = Converters.Scratch()
        let pool = RandomPool(dtype: .f32, bytes: 1 << 14, seed: 29)
        var gen = TensorMap(), ema = TensorMap(), disc = TensorMap()
        for n in ["encoder.conv_in.weight", "encoder.down.0.block.0.norm1.weight", "decoder.conv_out.bias", "quant_conv.weight"] {
            gen[n] = try pool.tensor("g" + n, [3, 2])
            ema[n] = try pool.tensor("e" + n, [3, 2])
        }
        disc["discriminator.main.0.weight"] = try pool.tensor("d", [2, 2])
        // A Lightning-style checkpoint: EMA (DataParallel names), the generator and discriminator
        // under state_dict, and entries that are not tensors.
        let ckpt = s.path("merged") + ".ckpt"
        try TorchCheckpoint.save(.dict(PickleDict(strings: [
            ("epoch", .int(3)), ("global_step", .int(1200)),
            ("state_dict", .dict(PickleDict(strings: [("gen_model", Self.dict(gen)), ("dis_model", Self.dict(disc))]))),
            ("ema_state_dict", Self.dict(ema, prefix: "module.")),
        ])), to: ckpt)
        let a = s.path("out/ema") + ".pt", b = s.path("gen") + ".pt"
        try Converters.run(["OpenSoraPlanConverter", "--version", "v1.3", "vae_convert", "--cfg.source_path", ckpt, "--cfg.target_path", a])
        try assertSame(try Self.written(a), ema, "ema_state_dict without module.")
        try Converters.run(["OpenSoraPlanConverter", "vae_convert", "--cfg.source_path", ckpt, "--cfg.target_path", b, "--use_ema_model", "false"])
        try assertSame(try Self.written(b), gen, "state_dict.gen_model")
        // An empty EMA falls through to state_dict (flat, no gen_model): its names as they are.
        let flat = s.path("flat") + ".ckpt", c = s.path("c") + ".pt"
        try TorchCheckpoint.save(.dict(PickleDict(strings: [("ema_state_dict", .dict(PickleDict(strings: []))), ("state_dict", Self.dict(gen, prefix: "module."))])), to: flat)
        try Converters.run(["OpenSoraPlanConverter", "vae_convert", "--cfg.source_path", flat, "--cfg.target_path", c])
        var prefixed = TensorMap()
        for (n, t) in gen { prefixed["module." + n] = t }
        try assertSame(try Self.written(c), prefixed, "state_dict kept as is")
        // The bare state dict itself.
        let bare = s.path("bare") + ".pt", d = s.path("d") + ".pt"
        try TorchCheckpoint.save(Self.dict(gen), to: bare)
        try Converters.run(["OpenSoraPlanConverter", "vae_convert", "--cfg.source_path", bare, "--cfg.target_path", d])
        try assertSame(try Self.written(d), gen, "bare")
        // Nothing usable: a clear error, nothing written.
        let junk = s.path("junk") + ".pt", e = s.path("e") + ".pt"
        try TorchCheckpoint.save(.dict(PickleDict(strings: [("epoch", .int(1))])), to: junk)
        let r = Converters.runFailing(["OpenSoraPlanConverter", "vae_convert", "--cfg.source_path", junk, "--cfg.target_path", e])
        XCTAssertEqual(r.status, 1, r.text)
        XCTAssertTrue(r.text.contains("none of 'ema_state_dict', 'state_dict.gen_model', 'state_dict', the saved object is a dict of tensors"), r.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: e))
    }
}
