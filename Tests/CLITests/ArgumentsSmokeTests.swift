import XCTest
import Ops
@testable import CLI

final class ArgumentsSmokeTests: XCTestCase {
    func testPrint() throws {
        let s = ArgumentsRecipes.surface
        print(s.topLevelHelp())
        print(s.converterHelp("Qwen2VLConverter"))
        print(s.operationHelp(ArgumentsRecipes.hfToMM))
        print(s.operationHelp(ArgumentsRecipes.hfToMM, environment: ["JSONARGPARSE_DEFAULT_ENV": "true"]))
        if case let .printConfig(t) = try s.parse(["Qwen2VLConverter", "hf_to_mm", "--print_config=comments", "--cfg.parallel_config.llm_pp_layers", "[[1,10,10,7]]"]) { print(t) }
        if case let .printConfig(t) = try s.parse(["--print_config", "Qwen2VLConverter", "hf_to_mm"]) { print(t) }
    }
}
