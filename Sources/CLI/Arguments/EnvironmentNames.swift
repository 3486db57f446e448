import Foundation

/// Environment variable names, as jsonargparse derives them: the program name upper-cased with
/// `-` -> `_`, then the command path and the option path upper-cased, levels joined by `__`.
public enum EnvironmentNames {
    /// Environment variables are read only when this is true/yes/1 (jsonargparse's switch).
    public static let switchVariable = "JSONARGPARSE_DEFAULT_ENV"

    public static func isEnabled(_ environment: [String: String]) -> Bool {
        ["true", "yes", "1"].contains((environment[switchVariable] ?? "").lowercased())
    }

    /// `MM_CONVERT` for `mm-convert`.
    public static func prefix(program: String) -> String {
        program.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// `MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE` for
    /// (`mm-convert`, [`Qwen2VLConverter`, `hf_to_mm`], `cfg.parallel_config.tp_size`);
    /// the config-file variable of a level is the option `config`.
    public static func variable(program: String, commands: [String], option: String) -> String {
        let prefix = self.prefix(program: program)
        let parts = commands + option.split(separator: ".").map(String.init)
        return prefix + "_" + parts.map { $0.uppercased() }.joined(separator: "__")
    }
}
