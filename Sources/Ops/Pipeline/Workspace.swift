import Foundation

/// The state a conversion acts on: the model's tensors, as one map or laid out over
/// expert-, tensor- and pipeline-parallel ranks, plus what was loaded alongside them.
///
/// Data flows one way: load (lazy, mmap) -> transforms on the whole model -> EP split -> TP shard
/// -> PP stage -> save; and back: load MM -> unstage -> unshard -> EP merge -> inverse transforms
/// -> save. Each step checks it is called in a state where it makes sense and says what to do
/// otherwise, so a recipe in the wrong order fails before anything is written.
public final class Workspace {
    /// How far the model is laid out over ranks.
    public enum Phase: String {
        /// One map with the whole model.
        case model
        /// Split over EP and/or TP ranks, one map per (ep, tp).
        case sharded
        /// Split over pipeline stages too: per (ep, tp) one map per flat stage.
        case staged
    }

    public private(set) var phase: Phase = .model
    /// `grid[ep][tp][stage]`; in `.model` phase a 1x1x1 grid.
    public private(set) var grid: [[[TensorMap]]] = [[[TensorMap()]]]
    /// Pipeline ranks when staged (flat stages = ppSize x vppSize).
    public private(set) var ppSize = 1
    public private(set) var vppSize = 1
    /// Whether the EP split happened (so save names EP directories).
    public private(set) var epSplit = false

    /// The checkpoint's config.json, when one was loaded.
    public var config: Value?
    /// The HF checkpoint loaded last: the template `save hf ... like=` follows by default.
    public var hfSource: HFCheckpoint?
    /// Tensor name -> shard file of the HF directory read last by `loadHF` or `loadConfig`.
    public var hfWeightMap: [(tensor: String, file: String)]?
    /// The dotted path of the dict `loadTorch` read last ("" for the saved object itself).
    public var torchKey: String?
    /// The MM checkpoint loaded last, for inspection of its non-tensor entries.
    public var mmSource: MMCheckpoint?
    /// Where a dry run collects what it would write instead of writing.
    public var dryRun = false
    public private(set) var plannedOutputs: [PlannedOutput] = []
    /// Replace existing non-empty output directories.
    public var force = false
    /// Output file writers running at once.
    public var workers = ParallelJobs.defaultWorkers
    /// Progress display for saves.
    public var progressMode: Progress.Mode = .quiet
    /// Values given to a run that no `param` declares (`--set input=DIR`): default paths.
    public var settings: [String: Value] = [:]
    /// Where statements print notes (e.g. "saved DIR").
    public var messages: (String) -> Void = { _ in }

    public init() {}

    /// The whole model (only in `.model` phase).
    public func model(for step: String) throws -> TensorMap {
        guard phase == .model else {
            throw OpsError.invalid("\(step) works on the whole model, but it is \(phase == .staged ? "split into pipeline stages" : "sharded over ranks"); put it before `shard`/`stage`, or after `unstage`/`unshard`")
        }
        return grid[0][0][0]
    }

    /// Replaces the whole model (after a transform).
    public func setModel(_ m: TensorMap) {
        phase = .model
        grid = [[[m]]]
        epSplit = false
        ppSize = 1
        vppSize = 1
    }

    /// Every map in the workspace, for inspection (`ls`, `show`).
    public var allMaps: [(label: String, tensors: TensorMap)] {
        switch phase {
        case .model: return [("model", grid[0][0][0])]
        case .sharded, .staged:
            var out: [(String, TensorMap)] = []
            for (e, tps) in grid.enumerated() {
                for (t, stages) in tps.enumerated() {
                    for (f, m) in stages.enumerated() {
                        var label = "tp \(t)"
                        if phase == .staged {
                            let (p, v) = PipelineLayout.rankAndChunk(ofStage: f, pp: ppSize)
                            label += ", pp \(p)" + (vppSize > 1 ? ", chunk \(v)" : "")
                        }
                        if epSplit { label += ", ep \(e)" }
                        out.append((label, m))
                    }
                }
            }
            return out
        }
    }

    // MARK: - Loading

    /// name -> shape (a list of ints) of the model's tensors, or of EP/TP rank 0's stages once
    /// split: what a recipe reads as `shapes` after a load.
    public var loadedShapes: Value {
        var pairs: [(String, Value)] = []
        var seen = Set<String>()
        for m in grid[0][0] {
            for (name, t) in m where seen.insert(name).inserted { pairs.append((name, .list(t.shape.map { .int($0) }))) }
        }
        return .dict(pairs)
    }

    /// Reads a Hugging Face directory (lazily) and its config.json.
    public func loadHF(_ directory: String) throws {
        var isDir: ObjCBool = false
        if directory.hasSuffix(".safetensors"), FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), !isDir.boolValue {
            // One released file (HunyuanVideo's, Bagel's): its tensors, no config.json.
            let file = try SafetensorsFile(path: directory)
            var tensors = TensorMap()
            for (name, t) in try file.tensors() { tensors[name] = t }
            guard !tensors.isEmpty else { throw OpsError.format(path: directory, message: "holds no tensors") }
            setModel(tensors)
            hfSource = nil
            config = nil
            let base = (directory as NSString).lastPathComponent
            hfWeightMap = tensors.names.map { ($0, base) }
            return
        }
        let ckpt = try HFCheckpoint.load(directory)
        guard !ckpt.tensors.isEmpty else { throw OpsError.format(path: directory, message: "no tensors found (expected *.safetensors files)") }
        setModel(ckpt.tensors)
        hfSource = ckpt
        config = ckpt.config
        hfWeightMap = ckpt.weightMap
    }

    /// Reads a checkpoint directory's config.json (e.g. the original HF directory of an mm_to_hf)
    /// and, when it has safetensors files, the names of its tensors (headers only).
    public func loadConfig(_ directory: String) throws {
        config = try JSONReader.parse(contentsOf: directory + "/config.json")
        let hasWeights = try CheckpointFiles.listFiles(in: directory).contains { HFCheckpoint.isRewritten($0) && !$0.contains("/") }
        hfWeightMap = hasWeights ? try HFCheckpoint.load(directory).weightMap : nil
    }

    /// Reads the tensors of one `torch.save` state dict (lazily): the saved dict, or the dict at
    /// `key` (dotted path), which must hold tensors only. `config` is left as it is (read it with
    /// `loadConfig` first); the tensor names, each mapped to the file's name, become the weight map.
    /// With several `keys`, the first that names a dict of tensors ("" the saved object itself).
    public func loadTorch(_ path: String, keys: [String]) throws {
        let root = try TorchCheckpoint.load(path)
        let selection = keys.count > 1 ? try StateDictSelection.selectFirst(root, keys: keys, path: path)
            : try StateDictSelection.select(root, key: keys.first, path: path)
        if !selection.skipped.isEmpty {
            let label = selection.key.isEmpty ? "the saved dict" : "'\(selection.key)'"
            throw OpsError.format(path: path, message: "\(label) is not a state dict: it holds entries that are not tensors: "
                + selection.skipped.prefix(10).map { "\($0.name) (\($0.type))" }.joined(separator: ", "))
        }
        setModel(selection.tensors)
        hfSource = nil
        torchKey = selection.key
        let file = path.split(separator: "/").last.map(String.init) ?? path
        hfWeightMap = selection.tensors.names.map { ($0, file) }
    }

    /// Adds the tensors of another Hugging Face directory whose names match `patterns` (lazily):
    /// the parts of a checkpoint a MindSpeed-MM model does not hold (Omni's talker), taken back
    /// from the original. A name the model already has is an error, never overwritten, so nothing
    /// the conversion produced is silently replaced by the original's copy.
    public func addHF(_ directory: String, patterns: [String], presence: Presence) throws {
        var m = try model(for: "`add hf`")
        let matchers = try patterns.map { try NamePattern($0) }
        let source = try HFCheckpoint.load(directory)
        var found = Set<Int>()
        for (name, t) in source.tensors {
            guard let i = matchers.firstIndex(where: { $0.matches(name) }) else { continue }
            found.insert(i)
            if m[name] != nil { throw OpsError.tensor(name: name, message: "is in the model and in \(directory); `add hf` adds only tensors the model lacks") }
            m[name] = t
        }
        if presence == .required, let missing = matchers.indices.first(where: { !found.contains($0) }) {
            throw OpsError.invalid("add hf: pattern '\(matchers[missing].source)' matched no tensor of \(directory) (check the name, or mark the statement optional)")
        }
        setModel(m)
    }

    /// Reads a MindSpeed-MM directory (lazily): the rank grid and its virtual pipeline chunks.
    public func loadMM(_ directory: String) throws {
        let ckpt = try MMCheckpointReader.load(directory)
        var g = [[[TensorMap]]](repeating: [[TensorMap]](repeating: [TensorMap](repeating: TensorMap(), count: ckpt.ppSize * ckpt.vppSize),
                                                          count: ckpt.tpSize), count: ckpt.epSize)
        for r in ckpt.ranks {
            for (v, chunk) in r.chunks.enumerated() {
                g[r.rank.ep][r.rank.tp][PipelineLayout.stage(rank: r.rank.pp, chunk: v, pp: ckpt.ppSize)] = chunk
            }
        }
        grid = g
        ppSize = ckpt.ppSize
        vppSize = ckpt.vppSize
        epSplit = ckpt.epSize > 1
        phase = .staged
        mmSource = ckpt
    }

    // MARK: - Transforms

    public func apply(_ t: any Transform, inverse: Bool) throws {
        let m = try model(for: "this statement")
        setModel(inverse ? try t.inverse(m) : try t.forward(m))
    }

    // MARK: - Parallel layouts

    /// Splits experts over EP ranks (before TP and PP).
    public func splitExperts(_ ep: ExpertParallel) throws {
        let m = try model(for: "the expert-parallel split")
        grid = try ep.split(m).map { [[$0]] }
        epSplit = ep.ep > 1
        phase = .sharded
    }

    /// Splits every (EP) map over TP ranks.
    public func shard(_ tp: TensorParallel) throws {
        guard phase != .staged else { throw OpsError.invalid("`shard` after `stage`: shard over tensor-parallel ranks first, then stage") }
        if phase == .sharded, grid.first?.count ?? 1 > 1 { throw OpsError.invalid("the model is already sharded; `unshard` it first") }
        grid = try grid.map { tps in try tp.split(tps[0][0]).map { [$0] } }
        phase = .sharded
    }

    /// Merges TP ranks back (and EP ranks, when `ep` is given).
    public func unshard(_ tp: TensorParallel, ep: ExpertParallel? = nil) throws {
        guard phase != .staged else { throw OpsError.invalid("`unshard` needs the pipeline stages merged first: `unstage` before `unshard`") }
        guard let width = grid.first?.count, width == tp.width else {
            throw OpsError.invalid("the checkpoint has \(grid.first?.count ?? 0) tensor-parallel ranks, but the sizes given (tp \(tp.tp)\(tp.modules.filter { $0.size > 0 }.map { ", \($0.prefix) \($0.size)" }.joined())) make \(tp.width)")
        }
        let merged = try grid.map { tps in try tp.merge(tps.map { $0[0] }) }
        if merged.count > 1 || ep != nil {
            guard let ep else { throw OpsError.invalid("the checkpoint has \(merged.count) expert-parallel ranks: give the expert count to merge them") }
            setModel(try ep.merge(merged))
        } else {
            setModel(merged[0])
        }
    }

    /// Places every (EP, TP) map's tensors on pipeline stages.
    /// - Parameter pp: PP ranks (the length of a module's inner list); flat stages / pp = VPP chunks.
    public func stage(_ layout: PipelineLayout, pp: Int) throws {
        guard phase != .staged else { throw OpsError.invalid("the model is already split into pipeline stages") }
        let g = layout.stageCount
        guard pp > 0, g % pp == 0 else { throw OpsError.invalid("\(g) pipeline stages do not form chunks of \(pp) PP ranks") }
        try checkLayerTotals(layout)
        grid = try grid.map { tps in try tps.map { try layout.stage($0[0]) } }
        ppSize = pp
        vppSize = g / pp
        phase = .staged
    }

    /// Every module's layer lists must add up to the layers the model has (a resplit target is
    /// not checked against any config.json, and a short list would silently drop layers).
    func checkLayerTotals(_ layout: PipelineLayout) throws {
        let names = grid[0][0][0].names
        for m in layout.modules {
            var count = 0
            for n in names { if case let .layer(i, _)? = m.schema.role(of: n) { count = max(count, i + 1) } }
            guard count == 0 || count == m.totalLayers else {
                throw OpsError.invalid("\(m.schema.name) pipeline layers \(m.layers) add up to \(m.totalLayers), but the model has \(count) \(m.schema.name) layers")
            }
        }
    }

    /// Merges pipeline stages back into one map per (EP, TP) rank, global layer numbers restored.
    public func unstage(_ layout: PipelineLayout) throws {
        guard phase == .staged else { throw OpsError.invalid("`unstage` needs a staged checkpoint (from `load mm` or `stage`)") }
        let have = grid[0][0].count
        guard layout.stageCount == have else {
            throw OpsError.invalid("the layer lists describe \(layout.stageCount) pipeline stages, but the checkpoint has \(have) (\(ppSize) PP ranks x \(vppSize) virtual chunks)")
        }
        grid = try grid.map { tps in try tps.map { [try layout.unstage($0)] } }
        phase = .sharded
        ppSize = 1
        vppSize = 1
    }

    /// Per-stage layer counts of `schema` as found in the staged checkpoint (TP rank 0, EP rank 0).
    public func inferLayers(_ schema: StageSchema, totalLayers: Int?) throws -> [Int] {
        guard phase == .staged else { throw OpsError.invalid("layer counts can only be read from a staged checkpoint") }
        return try PipelineLayout.inferLayers(grid[0][0], schema: schema, totalLayers: totalLayers)
    }

    /// Records an output for the dry-run plan.
    func plan(_ output: PlannedOutput) { plannedOutputs.append(output) }
}

/// One file a save writes (or would write, in a dry run), with its tensors.
public struct PlannedOutput {
    public var path: String
    public var entries: [(name: String, dtype: DType, shape: [Int], bytes: Int)]
    public var bytes: Int { entries.reduce(0) { $0 + $1.bytes } }

    init(path: String, tensors: TensorMap) {
        self.path = path
        self.entries = tensors.map { ($0.name, $0.tensor.dtype, $0.tensor.shape, $0.tensor.byteCount) }
    }

    init(path: String, entries: [(name: String, dtype: DType, shape: [Int], bytes: Int)]) {
        self.path = path
        self.entries = entries
    }
}

extension Workspace {
    /// Merges the LoRA adapter at `path` (one `.safetensors` file, a directory of them, or a
    /// torch state dict `.pt` / `.pth` / `.bin`, its tensors or its `model` dict) into
    /// the model (`LoRAMerge`): lazily, the merged tensors are computed while they are saved.
    /// `stripPrefix` is taken off the adapter's names first (a LoRA DCP holds
    /// `base_model.model.model.<base name>.lora_A.default.weight`).
    /// The tensors of a MindSpeed-MM checkpoint without TP, its stages merged by `schemas`
    /// (layer counts read from the files).
    static func unstagedAdapter(_ path: String, schemas: [StageSchema]) throws -> TensorMap {
        let ck = try MMCheckpointReader.load(path)
        guard ck.tpSize == 1, ck.epSize == 1 else {
            throw OpsError.format(path: path, message: "the LoRA checkpoint is split over \(ck.tpSize) TP / \(ck.epSize) EP ranks; merging reads a LoRA checkpoint without TP (as lora_hf_to_mm writes it)")
        }
        var stages = [TensorMap](repeating: TensorMap(), count: ck.ppSize * ck.vppSize)
        for r in ck.ranks {
            for (v, chunk) in r.chunks.enumerated() { stages[PipelineLayout.stage(rank: r.rank.pp, chunk: v, pp: ck.ppSize)] = chunk }
        }
        var modules: [PipelineModule] = []
        for schema in schemas {
            let counts = try PipelineLayout.inferLayers(stages, schema: schema)
            if counts.contains(where: { $0 > 0 }) { modules.append(try PipelineModule(schema, flat: counts)) }
        }
        guard !modules.isEmpty else { return stages.count == 1 ? stages[0] : try PipelineLayout([]).unstage(stages) }
        return try PipelineLayout(modules).unstage(stages)
    }

    public func mergeLoRA(_ path: String, scaling: Double, targets: [String]?, stripPrefix: String = "", mmStages: [StageSchema]? = nil) throws {
        let m = try model(for: "`merge lora`")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw OpsError.io(path: path, message: "the LoRA adapter does not exist (give a .safetensors file or a directory of them)")
        }
        var adapter: TensorMap
        if let schemas = mmStages {
            // A MindSpeed-MM LoRA checkpoint (a video model's lora_hf_to_mm output): its PP / VPP
            // stages merged back to global layer numbers by the given schemas.
            adapter = try Workspace.unstagedAdapter(path, schemas: schemas)
        } else if isDir.boolValue && DCPLocation.isDCP(path) {
            // A LoRA run's FSDP2 checkpoint: its model entries (only .metadata is read here).
            adapter = try DCPCheckpoint.load(path).stateDict(key: "model").tensors
        } else if isDir.boolValue {
            adapter = try SafetensorsDirectory(directory: path).tensors
        } else if [".pt", ".pth", ".bin"].contains(where: { path.hasSuffix($0) }) {
            // A torch state dict (a MindSpeed-MM LoRA rank file: its `model` dict).
            adapter = try StateDictSelection.select(try TorchCheckpoint.load(path), key: nil, path: path).tensors
        } else {
            adapter = try SafetensorsFile(path: path).tensors()
        }
        if !stripPrefix.isEmpty {
            var renamed = TensorMap()
            for (name, t) in adapter { renamed[name.hasPrefix(stripPrefix) ? String(name.dropFirst(stripPrefix.count)) : name] = t }
            adapter = renamed
        }
        setModel(try LoRAMerge(adapter: adapter, scaling: scaling, targets: targets, source: path).apply(m))
    }
}
