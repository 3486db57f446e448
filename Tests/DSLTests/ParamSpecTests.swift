import XCTest
import Ops
@testable import DSL

final class ParamSpecTests: XCTestCase {
    func testBoundsAndDescriptions() {
        XCTAssertTrue(ParamBound(.gt, 0).admits(1))
        XCTAssertFalse(ParamBound(.gt, 0).admits(0))
        XCTAssertEqual(ParamBound(.ge, 0).description, ">= 0")
        XCTAssertEqual(ParamType.list(.list(.int)).description, "[[int]]")
        XCTAssertEqual(Value.list([.list([.int(1), .int(10)])]).description, "[[1, 10]]")
        XCTAssertEqual(Value.list([.string("a\"b")]).description, "[\"a\\\"b\"]")
        XCTAssertTrue(ParamSpec(name: "cfg.mm_dir", type: .path).isRequired)
    }
}
