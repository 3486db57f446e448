import Foundation
import XCTest
@testable import Ops

/// The DCP fixtures (`shared/fixtures/dcp`) and a checker that compares a loaded checkpoint with a
/// fixture's `<name>.expected.json`, entry by entry.
enum DCPFixtures {
    static var root: URL { TorchFixtures.shared.appendingPathComponent("fixtures/dcp") }
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static func expected(_ name: String) throws -> Value {
        try JSONReader.parse(contentsOf: path(name + ".expected.json"))
    }

    /// SHA-256 of a tensor's row-major bytes.
    static func sha256(_ t: Tensor) throws -> String {
        var h = SHA256()
        try t.forEachRun { run in
            switch run {
            case let .bytes(b): h.update(b)
            case let .zeros(n): h.update(zeros: n)
            }
        }
        return h.hexDigest()
    }

    /// SHA-256 of a file range.
    static func sha256(file: String, offset: Int, length: Int) throws -> String {
        let store = try ByteStore(mapping: file)
        var h = SHA256()
        h.update(UnsafeRawBufferPointer(rebasing: store.buffer[offset..<(offset + length)]))
        return h.hexDigest()
    }

    static func ints(_ v: Value?) -> [Int]? {
        guard case let .list(l)? = v else { return nil }
        return l.compactMap { if case let .int(i) = $0 { return i }; return nil }
    }

    static func plannerPath(_ v: Value?) -> [DCPPathElement] {
        guard case let .list(l)? = v else { return [] }
        return l.map { x in
            switch x {
            case let .int(i): return .index(i)
            case let .string(s): return .key(s)
            default: return .key(x.description)
            }
        }
    }

    /// A Python int stored as LONG1 bytes, as a Double (the expected JSON loses precision too).
    static func double(littleEndian b: [UInt8]) -> Double {
        var v = 0.0
        for x in b.reversed() { v = v * 256 + Double(x) }
        if let last = b.last, last & 0x80 != 0 { v -= pow(256, Double(b.count)) }
        return v
    }

    /// Compares an unpickled bytes value with its typed description.
    static func assertValue(_ v: PickleValue, _ e: Value, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let type = e["type"]?.description ?? "?"
        switch (type, v) {
        case ("float", let .float(d)):
            if case let .float(x)? = e["value"] { XCTAssertEqual(d, x, what, file: file, line: line) }
            else if case let .int(x)? = e["value"] { XCTAssertEqual(d, Double(x), what, file: file, line: line) }
            else { XCTFail("\(what): bad expected float", file: file, line: line) }
        case ("int", let .int(i)): XCTAssertEqual(e["value"], .int(i), what, file: file, line: line)
        case ("int", let .bigInt(b)):
            guard case let .float(x)? = e["value"] else { return XCTFail("\(what): expected \(String(describing: e["value"]))", file: file, line: line) }
            XCTAssertEqual(double(littleEndian: b), x, what, file: file, line: line)
        case ("bool", let .bool(b)): XCTAssertEqual(e["value"], .bool(b), what, file: file, line: line)
        case ("str", let .string(s)): XCTAssertEqual(e["value"], .string(s), what, file: file, line: line)
        case ("none", .none): break
        case ("bytes", let .bytes(b)):
            XCTAssertEqual(e["hex"]?.description, b.map { String(format: "%02x", $0) }.joined(), what, file: file, line: line)
        case ("tuple", let .tuple(items)), ("list", let .list(items)):
            guard case let .list(expected)? = e["items"], expected.count == items.count else {
                return XCTFail("\(what): \(items.count) items, expected \(String(describing: e["items"]))", file: file, line: line)
            }
            for (i, (x, y)) in zip(items, expected).enumerated() { assertValue(x, y, "\(what)[\(i)]", file: file, line: line) }
        default:
            XCTFail("\(what): \(v) (\(v.typeName)) does not match expected \(e)", file: file, line: line)
        }
    }

    /// Checks every entry of `ckpt` against the fixture's expected description: order, planner
    /// path, kind, dtype, shape, properties, SHA-256 of the merged tensor, every chunk (box,
    /// index hint, item place and bytes, zip records, stored dtype/shape/stride/offset and bytes),
    /// and every bytes value.
    static func assertMatches(_ ckpt: DCPCheckpoint, _ expected: Value, file: StaticString = #filePath, line: UInt = #line) throws {
        guard case let .list(entries)? = expected["entries"] else { return XCTFail("no entries", file: file, line: line) }
        XCTAssertEqual(ckpt.entries.map(\.fqn), entries.map { $0["fqn"]?.description ?? "" }, "entry order", file: file, line: line)
        let m = ckpt.metadata
        if case let .string(v)? = expected["metadata_fields"]?["version"] { XCTAssertEqual(m.version, v, file: file, line: line) }
        else { XCTAssertNil(m.version, file: file, line: line) }
        if case let .dict(sm)? = expected["metadata_fields"]?["storage_meta"] {
            XCTAssertEqual(m.storageMeta?.checkpointID, Value.dict(sm)["checkpoint_id"]?.description, file: file, line: line)
            XCTAssertEqual(m.storageMeta?.saveID?.count, { if case let .int(n)? = Value.dict(sm)["save_id_len"] { return n }; return nil }(), file: file, line: line)
            XCTAssertNil(m.storageMeta?.loadID, file: file, line: line)
        } else {
            XCTAssertNil(m.storageMeta, file: file, line: line)
        }
        for e in entries {
            let fqn = e["fqn"]!.description
            XCTAssertEqual(ckpt.plannerPath(fqn), plannerPath(e["planner_path"]), "\(fqn) planner path", file: file, line: line)
            guard let entry = m.entry(fqn) else { XCTFail("\(fqn) missing", file: file, line: line); continue }
            if e["kind"]?.description == "bytes" {
                XCTAssertNil(entry.tensor, "\(fqn) kind", file: file, line: line)
                try assertItem(ckpt, ckpt.storageItem(fqn), e["item"]!, fqn, file: file, line: line)
                XCTAssertNil(ckpt.storageItem(fqn)?.indexHint, file: file, line: line)
                assertValue(try ckpt.value(fqn), e["value"]!, fqn, file: file, line: line)
                continue
            }
            guard let t = entry.tensor else { XCTFail("\(fqn) should be a tensor", file: file, line: line); continue }
            XCTAssertEqual(t.properties.dtypeName, e["dtype"]?.description, "\(fqn) dtype", file: file, line: line)
            XCTAssertEqual(t.size, ints(e["shape"]), "\(fqn) shape", file: file, line: line)
            let p = e["properties"]!
            XCTAssertEqual(t.properties.dtypeName, p["dtype"]?.description, file: file, line: line)
            XCTAssertEqual(t.properties.layout, p["layout"]?.description, file: file, line: line)
            XCTAssertEqual(p["requires_grad"], .bool(t.properties.requiresGrad), file: file, line: line)
            XCTAssertEqual(p["pin_memory"], .bool(t.properties.pinMemory), file: file, line: line)
            let formats = ["torch.contiguous_format", "torch.channels_last", "torch.preserve_format"]
            XCTAssertEqual(formats[t.properties.memoryFormat], p["memory_format"]?.description, file: file, line: line)
            if case .null? = p["strides"] { XCTAssertNil(t.properties.strides, file: file, line: line) }
            else { XCTAssertEqual(t.properties.strides, ints(p["strides"]), "\(fqn) properties strides", file: file, line: line) }
            let tensor = try ckpt.tensor(fqn)
            XCTAssertEqual(tensor.dtype.torchName, e["dtype"]?.description, file: file, line: line)
            XCTAssertEqual(tensor.shape, ints(e["shape"]), file: file, line: line)
            XCTAssertEqual(try sha256(tensor), e["sha256"]?.description, "\(fqn) merged sha256", file: file, line: line)
            guard case let .list(chunks)? = e["chunks"] else { XCTFail("no chunks", file: file, line: line); continue }
            XCTAssertEqual(t.chunks.count, chunks.count, "\(fqn) chunk count", file: file, line: line)
            let stored = try ckpt.chunks(fqn)
            for (i, (c, x)) in zip(t.chunks, chunks).enumerated() {
                let what = "\(fqn) chunk \(i)"
                XCTAssertEqual(c.offsets, ints(x["offsets"]), what, file: file, line: line)
                XCTAssertEqual(c.sizes, ints(x["sizes"]), what, file: file, line: line)
                let item = ckpt.storageItem(fqn, offsets: c.offsets)
                try assertItem(ckpt, item, x["item"]!, what, file: file, line: line)
                XCTAssertEqual(item?.indexHint.map { Value.int($0) }, x["item"]?["index_hint"], "\(what) index", file: file, line: line)
                let blob = stored[i].tensor
                XCTAssertEqual(blob.dtype.torchName, x["item"]?["blob_dtype"]?.description, what, file: file, line: line)
                XCTAssertEqual(blob.shape, ints(x["item"]?["blob_shape"]), what, file: file, line: line)
                XCTAssertEqual(blob.stride, ints(x["item"]?["blob_stride"]), "\(what) stride", file: file, line: line)
                XCTAssertEqual(x["item"]?["blob_storage_offset"], .int(blob.storageOffset), what, file: file, line: line)
                XCTAssertEqual(try sha256(blob.tensor), x["item"]?["blob_sha256"]?.description, "\(what) blob sha256", file: file, line: line)
            }
        }
    }

    /// The item's file, offset, length, bytes and zip record names.
    static func assertItem(_ ckpt: DCPCheckpoint, _ item: DCPStorageItem?, _ e: Value, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        guard let item else { return XCTFail("\(what): no storage item", file: file, line: line) }
        XCTAssertEqual(item.file, e["file"]?.description, what, file: file, line: line)
        XCTAssertEqual(e["offset"], .int(item.offset), what, file: file, line: line)
        XCTAssertEqual(e["length"], .int(item.length), what, file: file, line: line)
        let path = ckpt.directory + "/" + item.file
        XCTAssertEqual(try sha256(file: path, offset: item.offset, length: item.length), e["sha256"]?.description, "\(what) item sha256", file: file, line: line)
        let window = try ByteStore(slice: ByteStore(mapping: path), offset: item.offset, count: item.length, name: what)
        XCTAssertEqual(try ZipArchive(store: window).entries.map { Value.string($0.name) }, { if case let .list(l)? = e["zip_records"] { return l }; return [] }(),
                       "\(what) zip records", file: file, line: line)
    }
}
