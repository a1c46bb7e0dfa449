import Foundation
import TailorJSON
import TailorModels
import TailorTensor

/// The model a plan is for, known by its config.json alone (no weight is read): a local folder,
/// a config.json file, a hub snapshot holding only config.json, or one of `ModelPresets`.
public struct PlanModel: Sendable, Equatable {
    public var config: ModelConfig
    /// How the checkpoint stores its weights: config.json's `torch_dtype` (transformers 5: `dtype`);
    /// f32 for a preset, whose weights `tailor bench` makes in f32.
    public var weightDType: DType
    /// What the recipe names as model_name_or_path (a folder or hub id); nil for a preset.
    public var nameOrPath: String?
    /// How the plan names the model.
    public var label: String
    /// What the plan had to assume (a config without torch_dtype).
    public var notes: [String] = []

    public init(config: ModelConfig, weightDType: DType, nameOrPath: String?, label: String) {
        (self.config, self.weightDType, self.nameOrPath, self.label) = (config, weightDType, nameOrPath, label)
    }

    /// A built-in preset (`tailor bench`'s): f32 weights, no model_name_or_path.
    public static func preset(_ name: String) throws -> PlanModel {
        PlanModel(config: try ModelPresets.config(named: name), weightDType: .f32, nameOrPath: nil, label: "preset \(name) (f32 weights, as tailor bench makes them)")
    }

    /// The model whose config.json is `path` (a file) or inside `path` (a folder).
    /// - Parameter nameOrPath: what the recipe calls the model (a hub id); nil: the folder.
    /// - Throws: `TrainingError.invalidValue` for a path that does not exist or a folder without config.json;
    ///   `ModelError` for a config.json Tailor cannot read.
    public static func load(_ path: URL, nameOrPath: String? = nil) throws -> PlanModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder) else {
            throw TrainingError.invalidValue(key: "model", problem: "\(path.path) does not exist; give a model folder, its config.json, a hub id ORG/NAME or --preset")
        }
        let file = isFolder.boolValue ? path.appendingPathComponent("config.json") : path
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw TrainingError.invalidValue(key: "model", problem: "\(path.path) is a folder without config.json; give a Hugging Face model folder (config.json beside the weights) or the config.json itself")
        }
        let config = try ModelConfig(contentsOf: file)
        let folder = isFolder.boolValue ? path : path.deletingLastPathComponent()
        var model = PlanModel(config: config, weightDType: .bf16, nameOrPath: nameOrPath ?? folder.path, label: nameOrPath ?? file.path)
        let json = try? JSONValue(parsing: String(decoding: Data(contentsOf: file), as: UTF8.self), file: file.path)
        let name = json?["torch_dtype"]?.stringValue ?? json?["dtype"]?.stringValue
        switch name?.replacingOccurrences(of: "torch.", with: "") {
        case "float32": model.weightDType = .f32
        case "float16": model.weightDType = .f16
        case "bfloat16": model.weightDType = .bf16
        default:
            model.weightDType = .f32
            model.notes.append("\(file.path) names no torch_dtype: the weights are taken to be float32 (the most they can take)")
        }
        return model
    }
}
