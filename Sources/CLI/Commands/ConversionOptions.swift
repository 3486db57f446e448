import Ops

/// Options every conversion accepts besides its recipe's parameters: they say how to run, not
/// what to convert, so they are taken out of the command line before the recipe's options are read.
public struct ConversionOptions {
    public var quiet = false
    public var dryRun = false
    public var force = false
    public var workers = ParallelJobs.defaultWorkers

    public static let help = """
        run options (any conversion):
          --dry-run        print every file the conversion would write (tensors, dtypes, shapes, bytes); write nothing
          --force          replace an existing, non-empty output directory
          --workers N      output files written at once (default: \(ParallelJobs.defaultWorkers), one per core)
          --quiet          no progress output
        """

    /// Removes the run options from `args`, returning them and the rest.
    public static func extract(_ args: [String]) throws -> (ConversionOptions, [String]) {
        var o = ConversionOptions()
        var rest: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            switch a {
            case "--quiet": o.quiet = true
            case "--dry-run", "--dry_run": o.dryRun = true
            case "--force": o.force = true
            case "--workers":
                guard i + 1 < args.count, let n = Int(args[i + 1]), n > 0 else { throw UsageError("--workers needs a number > 0") }
                o.workers = n
                i += 1
            default:
                if a.hasPrefix("--workers=") {
                    guard let n = Int(a.dropFirst("--workers=".count)), n > 0 else { throw UsageError("--workers needs a number > 0") }
                    o.workers = n
                } else {
                    rest.append(a)
                }
            }
            i += 1
        }
        return (o, rest)
    }

    /// A workspace set up to run with these options.
    public func workspace(output: Output) -> Workspace {
        let w = Workspace()
        w.dryRun = dryRun
        w.force = force
        w.workers = workers
        w.progressMode = Progress.defaultMode(quiet: quiet)
        w.messages = { output.err($0) }
        return w
    }
}
