import XCTest
import Ops
@testable import CLI

/// Random command lines must give a ParsedCommand or an ArgumentError, never a trap.
final class ArgumentsRobustnessTests: XCTestCase {
    func testRandomCommandLinesNeverTrap() throws {
        let box = try ArgumentsSandbox()
        let conf = try box.write("c.yaml", "cfg:\n  parallel_config: {tp_size: 2}\n")
        let tokens = ["Qwen2VLConverter", "hf_to_mm", "resplit", "inspect", "-h", "--config", conf, "--print_config", "comments",
                      "--print_config=skip_null", "--cfg", "--cfg.parallel_config", "{tp_size: 3}", "--cfg.parallel_config.tp_size",
                      "--cfg.parallel_config.tp_size=", "--cfg.mm_dir", "--cfg.hf_config.hf_dir", box.hfDir, "[[1,10,10,7]]", "[1,",
                      "--cfg.parallel_config.llm_pp_layers+", "--cfg.parallel_config.llm_pp_layers", "null", "1", "-1", "", "=", "--",
                      "--=", "-", "--cfg.", "--cfg..x", "--cfg.llm_hf_config.x", "{", "'", "\"a"]
        var rng = SplitMix(seed: 7)
        let env = ["JSONARGPARSE_DEFAULT_ENV": "true", "MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__EP_SIZE": "2"]
        for _ in 0..<3000 {
            let argv = (0..<Int(rng.next() % 9)).map { _ in tokens[Int(rng.next() % UInt64(tokens.count))] }
            do {
                _ = try ArgumentsRecipes.surface.parse(argv, environment: rng.next() % 2 == 0 ? env : [:])
            } catch is ArgumentError {
            } catch {
                XCTFail("unexpected error type \(error) for \(argv)")
            }
        }
    }
}
