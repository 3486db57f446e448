import Ops
import XCTest

/// Checks shared by the sample tests of the families that have a fixture: the tiny preset is the
/// fixture's checkpoint, and `mm-convert sample` writes it as the fixture is written.
enum SampleFixture {
    /// Names, shapes, dtypes and bytes of the tiny sample are the fixture's (and its index's
    /// total_size); config.json has the same keys at every level and the same values.
    static func assertTinyMatches(_ family: SampleFamily, fixture name: String, tensors count: Int,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let gen = SampleGenerator(model: try SampleModel.preset(family, size: "tiny"))
        let tensors = try gen.tensors()
        let fixture = try HFCheckpoint.load(Converters.hf(name))
        XCTAssertEqual(tensors.count, count, file: file, line: line)
        XCTAssertEqual(Set(tensors.names).subtracting(fixture.tensors.names).sorted(), [], "not in the fixture", file: file, line: line)
        XCTAssertEqual(Set(fixture.tensors.names).subtracting(tensors.names).sorted(), [], "missing", file: file, line: line)
        for (n, f) in fixture.tensors {
            XCTAssertEqual(tensors[n]?.shape, f.shape, n, file: file, line: line)
            XCTAssertEqual(tensors[n]?.dtype, f.dtype, n, file: file, line: line)
        }
        XCTAssertEqual(tensors.totalBytes, fixture.tensors.totalBytes, file: file, line: line)
        let indexTotal = fixture.index?.metadata.first { $0.0 == "total_size" }?.1
        XCTAssertEqual(indexTotal, .int(tensors.totalBytes), file: file, line: line)

        let config = gen.config(), expected = try XCTUnwrap(fixture.config)
        XCTAssertEqual(keyPaths(config), keyPaths(expected), file: file, line: line)
        XCTAssertEqual(config, expected, "the tiny preset is the fixture's model, so the values match too", file: file, line: line)
    }

    /// Through the command line: a loadable two-shard checkpoint with the fixture's tensor names, whose
    /// config.json and generation_config.json are byte for byte the fixture's, next to a README,
    /// written the same on every run.
    static func assertCommandWritesFixtureLike(_ family: String, fixture: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let scratch = Converters.Scratch()
        let dir = scratch.path(family), again = scratch.path(family + "-again")
        try Converters.run(["sample", family, dir])
        try Converters.run(["sample", family, again, "--quiet"])
        let back = try HFCheckpoint.load(dir), ref = try HFCheckpoint.load(Converters.hf(fixture))
        XCTAssertEqual(Set(back.tensors.names), Set(ref.tensors.names), family, file: file, line: line)
        XCTAssertEqual(Set(back.shardOf.values).count, 2, family, file: file, line: line)
        for name in ["config.json", "generation_config.json"] {
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/" + name),
                           FileManager.default.contents(atPath: Converters.hf(fixture) + "/" + name), "\(family) \(name)", file: file, line: line)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/README.md"), file: file, line: line)
        let twice = try HFCheckpoint.load(again)
        for (name, t) in back.tensors {
            XCTAssertEqual(t.dtype, ref.tensors[name]?.dtype, name, file: file, line: line)
            XCTAssertEqual(try twice.tensors[name]!.sha256(), try t.sha256(), name, file: file, line: line)
        }
    }

    /// The tensors of a preset, built lazily (nothing is written).
    static func tensors(_ family: SampleFamily, _ size: String) throws -> TensorMap {
        try SampleGenerator(model: SampleModel.preset(family, size: size)).tensors()
    }

    static func config(_ family: SampleFamily, _ size: String) throws -> Value {
        SampleGenerator(model: try SampleModel.preset(family, size: size)).config()
    }

    /// Every key of a config, with its parents: `thinker_config.text_config.rope_scaling.mrope_section`.
    static func keyPaths(_ v: Value, _ prefix: String = "") -> [String] {
        guard case let .dict(pairs) = v else { return [] }
        return pairs.flatMap { k, sub in [prefix + k] + keyPaths(sub, prefix + k + ".") }.sorted()
    }
}
