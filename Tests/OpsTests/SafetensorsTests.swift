import Foundation
import XCTest
@testable import Ops

final class SafetensorsTests: XCTestCase {
    let fixtures = ["qwen2vl", "internvl_qwen2"]

    /// Every tensor of both fixture checkpoints reads back with the manifest's dtype, shape and SHA-256,
    /// in the manifest's (file) order, as views into the mapping.
    func testFixtureTensorsMatchManifest() throws {
        for fixture in fixtures {
            let manifest = try STFixtures.manifest(fixture)
            var count = 0
            for f in manifest.files where f.name.hasSuffix(".safetensors") {
                let file = try SafetensorsFile(path: STFixtures.hf + "/\(fixture)/\(f.name)")
                XCTAssertEqual(file.metadata?.map { "\($0.0)=\($0.1)" }, ["format=pt"])
                let tensors = try file.tensors()
                XCTAssertEqual(tensors.names, f.tensors.map(\.name), "\(fixture)/\(f.name) order")
                for info in f.tensors {
                    guard let t = tensors[info.name] else { XCTFail("missing \(info.name)"); continue }
                    XCTAssertEqual(t.dtype.torchName, info.dtype, info.name)
                    XCTAssertEqual(t.shape, info.shape, info.name)
                    XCTAssertEqual(try t.sha256(), info.sha256, info.name)
                    XCTAssertNotNil(t.contiguousRange, "\(info.name) should be a plain view into the mapping")
                    XCTAssertTrue(t.contiguousRange?.store === file.store)
                    count += 1
                }
            }
            XCTAssertEqual(count, fixture == "qwen2vl" ? 82 : 89)
        }
    }

    /// Re-writing every tensor of each shard gives the identical file (same SHA-256 as the manifest),
    /// even when the tensors are given in reverse order (the writer lays them out as the library does).
    func testRewritingFixtureShardsIsByteIdentical() throws {
        let out = try STFixtures.temporaryDirectory(self)
        for fixture in fixtures {
            for f in try STFixtures.manifest(fixture).files where f.name.hasSuffix(".safetensors") {
                let file = try SafetensorsFile(path: STFixtures.hf + "/\(fixture)/\(f.name)")
                let tensors = try file.tensors()
                let reversed = TensorMap(tensors.names.reversed().map { ($0, tensors[$0]!) })
                let path = out + "/\(fixture)-\(f.name)"
                let size = try SafetensorsWriter.write(reversed, metadata: file.metadata, to: path)
                XCTAssertEqual(size, f.size)
                XCTAssertEqual(try STFixtures.sha256(ofFile: path), f.sha256, "\(fixture)/\(f.name)")
                let attrs = try FileManager.default.attributesOfItem(atPath: path)
                XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o640)
            }
        }
    }

    /// The library's layout: descending dtype rank, then bytewise name; `__metadata__` first;
    /// header padded with spaces to 8 bytes; zero-size tensors get empty ranges.
    func testLayoutOrderAndHeaderFormat() throws {
        func t(_ d: DType, _ shape: [Int]) -> Tensor { .zeros(d, shape) }
        let map = TensorMap([("b", t(.bool, [3])), ("a", t(.f32, [1])), ("z", t(.i64, [1])), ("B", t(.bf16, [2])),
                             ("é", t(.u8, [1])), ("e", t(.u8, [0])), ("c", t(.f16, [1])), ("d", t(.f64, [1]))])
        XCTAssertEqual(SafetensorsWriter.layoutOrder(map).map(\.name), ["z", "d", "a", "B", "c", "e", "é", "b"])
        let head = SafetensorsWriter.header(for: SafetensorsWriter.layoutOrder([("x\"", t(.f32, [2, 0]))]), metadata: [("k", "v"), ("a", "é")])
        let json = #"{"__metadata__":{"k":"v","a":"é"},"x\"":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]}}"#
        let padded = Array(json.utf8) + [UInt8](repeating: 0x20, count: (8 - json.utf8.count % 8) % 8)
        XCTAssertEqual(Array(head[8...]), padded)
        XCTAssertEqual(Array(head[0..<8]), [UInt8(padded.count), 0, 0, 0, 0, 0, 0, 0])
        // The library's own test vector (safetensors tests: `test_empty` with metadata).
        XCTAssertEqual(SafetensorsWriter.header(for: [], metadata: [("framework", "pt")]),
                       [40, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"__metadata__":{"framework":"pt"}}"#.utf8) + [32, 32, 32, 32, 32])
        XCTAssertEqual(SafetensorsWriter.header(for: [], metadata: nil), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
    }

    /// A written file reads back with the same tensors, including lazy expressions (transpose, cast).
    func testWriteReadRoundTripOfExpressions() throws {
        let out = try STFixtures.temporaryDirectory(self)
        let base = try Tensor.fromBytes((0..<24).map { UInt8($0) }, dtype: .i16, shape: [3, 4])
        let f32 = try Tensor.fromBytes([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], dtype: .f32, shape: [2])
        let map = TensorMap([("t", try base.transposed()), ("c", try f32.cast(to: .bf16)), ("z", .zeros(.u8, [0]))])
        try SafetensorsWriter.write(map, metadata: nil, to: out + "/x.safetensors")
        let back = try SafetensorsFile(path: out + "/x.safetensors")
        XCTAssertNil(back.metadata)
        XCTAssertEqual(back.entries.map(\.name), ["c", "t", "z"])
        let tensors = try back.tensors()
        XCTAssertEqual(try tensors["t"]!.materialize(), try base.transposed().materialize())
        XCTAssertEqual(tensors["t"]!.shape, [4, 3])
        XCTAssertEqual(try tensors["c"]!.materialize(), [0x80, 0x3f, 0x00, 0xc0])
        XCTAssertEqual(tensors["z"]!.shape, [0])
    }
}
