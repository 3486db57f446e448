import DSL

/// `mm-convert recipes [--show PATH]`: the bundled converters and operations, or one recipe's text.
enum RecipesCommand {
    static let usage = "usage: mm-convert recipes [--show PATH]\n  --show PATH   print a bundled recipe (e.g. qwen2vl/layout.recipe)"

    static func run(_ args: [String], output: Output) throws {
        let a = try CommandLineArguments(args, flags: ["-h", "--help"], options: ["--show"], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return }
        if let path = a.option("--show") {
            guard let text = BundledRecipes.files[path] else {
                let hint = closest(path, in: Array(BundledRecipes.files.keys)).map { " (did you mean \($0)?)" } ?? ""
                throw UsageError("no bundled recipe '\(path)'\(hint); `mm-convert recipes` lists them")
            }
            output.out(text)
            return
        }
        let catalog = try RecipeCatalog.bundled()
        output.out("Bundled converters (mm-convert CONVERTER OPERATION -h for options):")
        var last = ""
        for e in catalog.entries {
            if e.info.converter != last { output.out("  \(e.info.converter)"); last = e.info.converter }
            output.out("    \(e.info.operation.padding(toLength: 10, withPad: " ", startingAt: 0)) \(e.info.doc)  [\(e.path)]")
        }
        output.out("Shared files: " + BundledRecipes.files.keys.sorted().filter { p in !catalog.entries.contains { $0.path == p } }.joined(separator: ", "))
    }
}
