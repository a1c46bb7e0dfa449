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
    }

    /// For tests: called after the weights are written and before the folder is renamed.
    nonisolated(unsafe) public static var testHookBeforeCommit: ((URL) throws -> Void)?

    /// Writes `checkpoint-<step>` into `outputDir` and returns its URL.
    public static func save(step: Int, outputDir: URL, model: CausalLM, trainable: TrainableSet, optimizer: Optimizer,
                            state: State, baseFolder: URL?, baseName: String) throws -> URL {
        let final = outputDir.appendingPathComponent(prefix + "\(step)")
        let temporary = outputDir.appendingPathComponent(".\(prefix)\(step).tmp-\(getpid())")
        let files = FileManager.default
        try? files.removeItem(at: temporary)
        do { try files.createDirectory(at: temporary, withIntermediateDirectories: true) } catch {
            throw TrainingError.unwritableFolder(key: "output_dir", path: outputDir.path, reason: "\(error)")
        }
        try trainable.save(model: model, baseFolder: baseFolder, baseName: baseName, to: temporary)
        let moments = try optimizer.stateTensors().map { name, tensor in
            SafetensorsWriter.Tensor(name: name, shape: tensor.shape, floats: try model.backend.download(tensor))
        }
        try SafetensorsWriter.write(moments, metadata: ["step": "\(optimizer.stepCount)", "optimizer": optimizer.kind],
                                    to: temporary.appendingPathComponent("optimizer.safetensors"))
        try state.write(to: temporary.appendingPathComponent("training_state.json"))
        try testHookBeforeCommit?(temporary)
        if files.fileExists(atPath: final.path) { try files.removeItem(at: final) }
        try files.moveItem(at: temporary, to: final)
        return final
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
            let difference: String
            if first >= state.parameterNames.count {
                difference = "this run also trains \(names[first]) \(shapes[first]), which it lacks"
            } else if first >= names.count {
                difference = "it also holds \(state.parameterNames[first]), which this run does not train"
            } else if names[first] != state.parameterNames[first] {
                difference = "its tensor \(first) is \(state.parameterNames[first]) where this run has \(names[first])"
            } else {
                let saved = first < state.parameterShapes.count ? "\(state.parameterShapes[first])" : "unshaped"
                difference = "its \(names[first]) is \(saved) where this run's is \(shapes[first])"
            }
            throw TrainingError.checkpoint(path: folder.path,
                                           problem: "was written for other trainable parameters (\(state.parameterNames.count) tensors; this run has \(names.count); \(difference)); use a checkpoint of this model and adapter configuration")
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
        [
            "format": .string(format), "globalStep": .int(globalStep), "totalSteps": .int(totalSteps),
            "seed": seed <= UInt64(Int.max) ? .int(Int(seed)) : .bigInteger(String(seed)),  // allowed: seed <= Int.max is checked on this line
            "parameterNames": .array(parameterNames.map { .string($0) }),
            "parameterShapes": .array(parameterShapes.map { .array($0.map { .int($0) }) }),
            "elapsedSeconds": .double(elapsedSeconds),
        ]
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
                  elapsedSeconds: try field("elapsedSeconds", "a number", \.doubleValue))
    }
}
