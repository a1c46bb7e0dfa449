import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// A training checkpoint folder `checkpoint-N/`: the trained weights (peft adapter or model),
/// the optimizer's state (`optimizer.safetensors`: AdamW's moments or SGD's momentum buffers), and the loop's position and schedule state
/// (`training_state.json`). Folders are written under a temporary name and renamed into place,
/// so a run killed while saving leaves the previous checkpoint intact and no partial one.
public enum Checkpoint {
    public static let prefix = "checkpoint-"

    /// The loop state a resume needs.
    public struct State: Codable, Equatable, Sendable {
        public var format = "tailor-checkpoint-1"
        public var globalStep: Int
        public var totalSteps: Int
        public var seed: UInt64
        public var parameterNames: [String]
        public var parameterShapes: [[Int]]
        public var elapsedSeconds: Double
        /// The sum of every step's loss so far, so a resumed run's train_loss is the mean over the
        /// whole run (nil in checkpoints written before it was kept).
        public var lossSum: Double? = nil
    }

    /// For tests: called after the weights are written and before the folder is renamed.
    nonisolated(unsafe) public static var testHookBeforeCommit: ((URL) throws -> Void)?

    /// The folder checkpoint `step` is saved in.
    public static func folder(step: Int, outputDir: URL) -> URL { outputDir.appendingPathComponent(prefix + "\(step)") }

    /// Writes `checkpoint-<step>` into `outputDir` and returns its URL.
    public static func save(step: Int, outputDir: URL, model: CausalLM, trainable: TrainableSet, optimizer: Optimizer,
                            state: State, baseFolder: URL?, baseName: String, baseRevision: String? = nil) throws -> URL {
        let final = folder(step: step, outputDir: outputDir)
        let temporary = outputDir.appendingPathComponent(".\(prefix)\(step).tmp-\(getpid())")
        let files = FileManager.default
        try? files.removeItem(at: temporary)
        do { try files.createDirectory(at: temporary, withIntermediateDirectories: true) } catch {
            throw TrainingError.unwritableFolder(key: "output_dir", path: outputDir.path, reason: "\(error)")
        }
        try trainable.save(model: model, baseFolder: baseFolder, baseName: baseName, baseRevision: baseRevision, to: temporary)
        let moments = try optimizer.stateTensors().map { name, tensor in
            SafetensorsWriter.Tensor(name: name, shape: tensor.shape, floats: try model.backend.download(tensor))
        }
        try SafetensorsWriter.write(moments, metadata: ["step": "\(optimizer.stepCount)", "optimizer": optimizer.kind],
                                    to: temporary.appendingPathComponent("optimizer.safetensors"))
        try state.write(to: temporary.appendingPathComponent("training_state.json"))
        try testHookBeforeCommit?(temporary)
        try commit(temporary, to: final)
        return final
    }

    /// Moves a finished temporary folder to `final`. A folder already there (a checkpoint of the
    /// same step, from an earlier run or before a resume) is first renamed aside, then deleted once
    /// the new one is in place: at every moment one complete checkpoint-N exists or can be
    /// restored (`recover`).
    static func commit(_ temporary: URL, to final: URL) throws {
        let files = FileManager.default
        guard files.fileExists(atPath: final.path) else {
            try files.moveItem(at: temporary, to: final)
            return
        }
        let aside = final.deletingLastPathComponent().appendingPathComponent(".\(final.lastPathComponent).old-\(getpid())")
        try? files.removeItem(at: aside)
        try files.moveItem(at: final, to: aside)
        try testHookBetweenRenames?(aside)
        try files.moveItem(at: temporary, to: final)
        try? files.removeItem(at: aside)
    }

    /// For tests: called after an existing checkpoint is renamed aside and before the new one moves in.
    nonisolated(unsafe) public static var testHookBetweenRenames: ((URL) throws -> Void)?

    /// Repairs what a run killed while saving leaves in `outputDir`, before a run starts there:
    /// a checkpoint renamed aside (`.checkpoint-N.old-PID`) goes back to `checkpoint-N` when the
    /// new one never moved in, and is deleted when it did; temporary folders
    /// (`.checkpoint-N.tmp-PID`) are deleted. Folders of another process that is still alive are
    /// left alone (it may be saving now). Returns the names it restored or removed.
    @discardableResult
    public static func recover(outputDir: URL) -> [String] {
        let files = FileManager.default
        let names = ((try? files.contentsOfDirectory(atPath: outputDir.path)) ?? []).sorted()
        var changed: [String] = []
        for name in names {
            guard let (step, kind, pid) = leftover(name), !isOtherLiveProcess(pid) else { continue }
            let url = outputDir.appendingPathComponent(name)
            let final = outputDir.appendingPathComponent(prefix + "\(step)")
            if kind == "old" && !files.fileExists(atPath: final.appendingPathComponent("training_state.json").path) {
                try? files.removeItem(at: final)  // an incomplete one, if any
                if (try? files.moveItem(at: url, to: final)) != nil { changed.append(name) }
            } else if (try? files.removeItem(at: url)) != nil {
                changed.append(name)
            }
        }
        return changed
    }

    /// `.checkpoint-<step>.<tmp|old>-<pid>` → its parts.
    static func leftover(_ name: String) -> (step: Int, kind: String, pid: Int32)? {
        guard name.hasPrefix("." + prefix) else { return nil }
        let parts = name.dropFirst(prefix.count + 1).split(separator: ".")
        guard parts.count == 2, let step = Int(parts[0]) else { return nil }
        let tail = parts[1].split(separator: "-")
        guard tail.count == 2, tail[0] == "tmp" || tail[0] == "old", let number = Int(tail[1]),
              let pid = Int32(exactly: number) else { return nil }
        return (step, String(tail[0]), pid)
    }

    /// Whether `pid` is a running process other than this one.
    static func isOtherLiveProcess(_ pid: Int32) -> Bool {
        pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// Checkpoint folders in `outputDir`, oldest first.
    public static func list(in outputDir: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDir.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix(prefix), let step = Int(name.dropFirst(prefix.count)) else { return nil }
            let url = outputDir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("training_state.json").path) else { return nil }
            return (step, url)
        }.sorted { $0.0 < $1.0 }
    }

    /// `latest` → the newest checkpoint in `outputDir`; anything else is a path.
    public static func resolve(_ argument: String, outputDir: URL) throws -> URL {
        if argument == "latest" {
            guard let newest = list(in: outputDir).last else {
                throw TrainingError.checkpoint(path: outputDir.path, problem: "has no checkpoint-N folder, so 'latest' names none; train without resume_from_checkpoint first")
            }
            return newest.url
        }
        return URL(fileURLWithPath: argument)
    }

    /// Reads a checkpoint's state and loads its weights and optimizer moments, after checking
    /// that it was written for these parameters.
    public static func load(from folder: URL, trainable: TrainableSet, optimizer: Optimizer, backend: Backend) throws -> State {
        let stateURL = folder.appendingPathComponent("training_state.json")
        let state = try State(contentsOf: stateURL)
        let names = trainable.parameters.map(\.name), shapes = trainable.parameters.map(\.value.shape)
        guard state.parameterNames == names, state.parameterShapes == shapes else {
            // Name the first tensor that differs: by name, by shape, or one side's extra tensor.
            func differs(_ i: Int) -> Bool {
                if i >= names.count || i >= state.parameterNames.count || i >= state.parameterShapes.count { return true }
                return names[i] != state.parameterNames[i] || state.parameterShapes[i] != shapes[i]
            }
            let first = (0..<max(names.count, state.parameterNames.count)).first(where: differs) ?? 0
            let counts = state.parameterNames.count == names.count ? ""
                : "\(state.parameterNames.count) tensors where this run has \(names.count); "
            let difference: String
            var setting = trainable.isAdapter
                ? "set target_modules (and layers_to_transform, modules_to_save) as the run that wrote it did (its adapter_config.json lists them)"
                : "resume with the model and full fine-tuning settings that wrote it"
            if first >= state.parameterNames.count {
                difference = "this run also trains \(names[first]) \(shapes[first]), which it lacks"
            } else if first >= names.count {
                difference = "it also holds \(state.parameterNames[first]), which this run does not train"
            } else if names[first] != state.parameterNames[first] {
                difference = "its tensor \(first) is \(state.parameterNames[first]) where this run has \(names[first])"
            } else {
                let saved = first < state.parameterShapes.count ? state.parameterShapes[first] : []
                difference = "its \(names[first]) is \(saved) where this run's is \(shapes[first])"
                if let (savedRank, rank) = loraRanks(name: names[first], saved: saved, current: shapes[first]) {
                    setting = "it was trained with r \(savedRank) and this run has r \(rank): set r: \(savedRank) to resume it"
                }
            }
            throw TrainingError.checkpoint(path: folder.path,
                                           problem: "was written for other trainable parameters (\(counts)\(difference)); \(setting), or start without resume_from_checkpoint")
        }
        try trainable.load(from: folder, backend: backend)
        let momentsURL = folder.appendingPathComponent("optimizer.safetensors")
        let moments = try SafetensorsFile(url: momentsURL)
        let written = moments.metadata["optimizer"] ?? "adamw"  // checkpoints before SGD existed were AdamW's
        guard written == optimizer.kind else {
            throw TrainingError.checkpoint(path: folder.path,
                                           problem: "was written by optimizer \(written) but this run uses \(optimizer.kind); resume with the same optim")
        }
        try optimizer.restore(stepCount: Int(moments.metadata["step"] ?? "") ?? state.globalStep) { name in
            moments.info(name) == nil ? nil : try moments.floats(name)
        }
        return state
    }

    /// The LoRA ranks of a lora_A ([r, in]) or lora_B ([out, r]) tensor whose shapes differ only in r.
    static func loraRanks(name: String, saved: [Int], current: [Int]) -> (saved: Int, current: Int)? {
        guard saved.count == 2, current.count == 2 else { return nil }
        if name.contains("lora_A"), saved[1] == current[1] { return (saved[0], current[0]) }
        if name.contains("lora_B"), saved[0] == current[0] { return (saved[1], current[1]) }
        return nil
    }

    /// Deletes the oldest checkpoints beyond `limit`.
    public static func prune(outputDir: URL, keep limit: Int) {
        let all = list(in: outputDir)
        guard all.count > limit else { return }
        for old in all.prefix(all.count - limit) { try? FileManager.default.removeItem(at: old.url) }
    }
}

extension Checkpoint.State {
    /// training_state.json's object (keys as the Swift names, which earlier versions wrote through Codable).
    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("format", .string(format)), ("globalStep", .int(globalStep)), ("totalSteps", .int(totalSteps)),
            ("seed", seed <= UInt64(Int.max) ? .int(Int(seed)) : .bigInteger(String(seed))),  // allowed: seed <= Int.max is checked on this line
            ("parameterNames", .array(parameterNames.map { .string($0) })),
            ("parameterShapes", .array(parameterShapes.map { .array($0.map { .int($0) }) })),
            ("elapsedSeconds", .double(elapsedSeconds)),
        ]
        if let lossSum { members.append(("lossSum", .double(lossSum))) }
        return .object(JSONObject(members))
    }

    /// Writes training_state.json atomically, as Python's `json.dumps(state, indent=2, sort_keys=True) + "\n"` would.
    func write(to url: URL) throws {
        try AtomicWrite.write(Data(json.bytes(.pythonIndented.sortingKeys()) + [0x0A]), to: url)
    }

    /// Reads a checkpoint's training_state.json.
    /// - Throws: `TrainingError.checkpoint` naming the file, and the line and column of bad JSON.
    init(contentsOf url: URL) throws {
        func bad(_ problem: String) -> TrainingError {
            .checkpoint(path: url.path, problem: "cannot be read: \(problem)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw bad("no such file or not readable") }
        let root: JSONValue
        do { root = try JSONValue(parsing: [UInt8](data), file: url.path) } catch { throw bad(error.detail) }
        func field<T>(_ key: String, _ what: String, _ read: (JSONValue) -> T?) throws -> T {
            guard let value = root[key], let typed = read(value) else { throw bad("field '\(key)' must be \(what)") }
            return typed
        }
        self.init(format: try field("format", "a string", \.stringValue),
                  globalStep: try field("globalStep", "an integer", \.integralValue),
                  totalSteps: try field("totalSteps", "an integer", \.integralValue),
                  seed: try field("seed", "an integer from 0 to 2^64-1") { $0.integer(as: UInt64.self) },
                  parameterNames: try field("parameterNames", "a list of strings") { $0.arrayValue(of: \.stringValue) },
                  parameterShapes: try field("parameterShapes", "a list of lists of integers") {
                      $0.arrayValue(of: { $0.arrayValue(of: \.integralValue) })
                  },
                  elapsedSeconds: try field("elapsedSeconds", "a number", \.doubleValue),
                  lossSum: root["lossSum"] == nil ? nil : try field("lossSum", "a number", \.doubleValue))
    }
}
