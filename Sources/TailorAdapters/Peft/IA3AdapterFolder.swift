import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// Reading and writing a peft IA³ adapter folder (adapter_config.json with `peft_type: "IA3"`
/// + adapter_model.safetensors), as `PeftModel.from_pretrained` reads it and `save_pretrained`
/// writes it. Tensors are named `base_model.model.<module>.ia3_l`: [out, 1] for an output-scaling
/// module, [1, in] for a feed-forward one; `modules_to_save` copies sit beside them as in a LoRA folder.
public enum IA3AdapterFolder {
    static let prefix = PeftAdapterLayout.keyPrefix

    /// adapter_config.json's `peft_type` ("LORA", "IA3", ...), or nil when the file has none.
    /// - Throws: `AdapterError.adapterConfig` when the file cannot be read or is not a JSON object.
    public static func peftType(folder: URL) throws -> String? {
        try root(folder: folder).object["peft_type"]?.stringValue
    }

    /// Whether `folder` holds an IA³ adapter (false for a folder without a readable config: the LoRA reader reports it).
    public static func isIA3(folder: URL) -> Bool { (try? peftType(folder: folder)) == "IA3" }

    static func root(folder: URL) throws -> (object: JSONObject, file: String) {
        let file = folder.appendingPathComponent(PeftAdapterLayout.configFile).path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AdapterError.adapterConfig(file: file, field: nil, problem: "cannot be read; is \(folder.path) a peft adapter folder?")
        }
        do {
            guard let object = try JSONValue(parsing: [UInt8](data), file: file).objectValue else {
                throw AdapterError.adapterConfig(file: file, field: nil, problem: "is not a JSON object")
            }
            return (object, file)
        } catch let error as JSONError {
            throw AdapterError.adapterConfig(file: file, field: nil, problem: "is \(error.detail)")
        }
    }

    /// The IA³ settings of `folder`'s adapter_config.json.
    /// - Throws: `AdapterError.adapterConfig` naming the file and field.
    public static func readConfig(folder: URL) throws -> IA3Config {
        let (root, file) = try root(folder: folder)
        guard root["peft_type"]?.stringValue == "IA3" else {
            throw AdapterError.adapterConfig(file: file, field: "peft_type", problem: "is \(root["peft_type"]?.text(.python) ?? "missing"); an IA³ folder says \"IA3\"")
        }
        func modules(_ field: String) throws -> TargetModules? {
            switch root[field] {
            case nil, .null?: return nil
            case .string(let text)?: return field == "target_modules" && text == "all-linear" ? .allLinear : .regex(text)
            case let value?:
                guard let names = value.arrayValue(of: \.stringValue) else {
                    throw AdapterError.adapterConfig(file: file, field: field, problem: "is \(value.text(.python)); it must be a list of module names, a string (a regular expression) or null")
                }
                return .names(names)
            }
        }
        if let value = root["exclude_modules"], !value.isNull, value.arrayValue(of: \.stringValue)?.isEmpty != true {
            throw AdapterError.adapterConfig(file: file, field: "exclude_modules", problem: "is set (\(value.text(.python))), which Tailor does not implement for IA³; use an adapter trained without it, or merge it with peft first")
        }
        func flag(_ field: String, default fallback: Bool) throws -> Bool {
            guard let value = root[field], !value.isNull else { return fallback }
            guard let flag = value.boolValue else {
                throw AdapterError.adapterConfig(file: file, field: field, problem: "is \(value.text(.python)); it must be true or false")
            }
            return flag
        }
        var modulesToSave: [String] = []
        if let value = root["modules_to_save"], !value.isNull {
            guard let names = value.arrayValue(of: \.stringValue) else {
                throw AdapterError.adapterConfig(file: file, field: "modules_to_save", problem: "must be a list of module names")
            }
            modulesToSave = names
        }
        let config = IA3Config(targetModules: try modules("target_modules"), feedforwardModules: try modules("feedforward_modules"),
                               initIA3Weights: try flag("init_ia3_weights", default: true), modulesToSave: modulesToSave,
                               fanInFanOut: try flag("fan_in_fan_out", default: false))
        do { try config.check() } catch AdapterError.badOption(let field, let problem) {
            throw AdapterError.adapterConfig(file: file, field: field, problem: problem)
        }
        return config
    }

    /// Loads the IA³ adapter in `folder` for `model` without attaching it (see `IA3Adapters.attach(to:)`).
    /// - Throws: `AdapterError.adapterConfig` for the config, `.adapterWeight` naming the tensor when
    ///   one is missing, extra or mis-shaped (an adapter made for another base model).
    public static func load(folder: URL, for model: CausalLM) throws -> IA3Adapters {
        let config = try readConfig(folder: folder).resolved(for: model.config.architecture)
        let url = folder.appendingPathComponent(PeftAdapterLayout.weightsFile)
        let file = try SafetensorsFile(url: url)
        var moduleNames: [String] = []
        var others: [String] = []
        for name in file.tensorNames {
            guard name.hasPrefix(prefix), name.hasSuffix(PeftAdapterLayout.ia3Suffix) else {
                others.append(name)
                continue
            }
            moduleNames.append(String(name.dropFirst(prefix.count).dropLast(PeftAdapterLayout.ia3Suffix.count)))
        }
        guard !moduleNames.isEmpty else {
            throw AdapterError.adapterWeight(name: "*", file: url.path, problem: "holds no IA³ vectors (base_model.model.<module>.ia3_l)")
        }
        let order = model.linearModuleNames
        moduleNames.sort { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
        var modules: [(name: String, ia3: IA3)] = []
        for module in moduleNames {
            let key = prefix + module + PeftAdapterLayout.ia3Suffix
            guard let linear = model.linear(module: module) else {
                throw AdapterError.adapterWeight(name: key, file: url.path,
                                                  problem: "adapts module '\(module)', which this model does not have; was the adapter made for another base model?")
            }
            let feedforward = config.isFeedforward(module)
            let shape = feedforward ? [1, linear.inFeatures] : [linear.outFeatures, 1]
            guard let info = file.info(key), info.shape == shape else {
                throw AdapterError.adapterWeight(name: key, file: url.path,
                                                  problem: "has shape \(file.info(key)?.shape ?? []) but this model's \(module) needs \(shape) (\(feedforward ? "feed-forward: its input" : "its output") scaled, as adapter_config.json's feedforward_modules says); was the adapter made for another base model?")
            }
            modules.append((module, IA3(module: module, vector: try model.backend.upload(try file.floats(key), shape: shape, dtype: .f32),
                                        isFeedforward: feedforward)))
        }
        let tensors = try AdapterTensor.loadSaved(for: model, selection: config.selection, adapted: modules.map(\.name), from: file,
                                                  url: url, folder: folder, others: others,
                                                  kind: "an IA³ vector (base_model.model.<module>.ia3_l)")
        return IA3Adapters(config: config, modules: modules, tensors: tensors)
    }
}

/// Writes IA³ adapters as a peft adapter folder, loadable by `peft.PeftModel.from_pretrained`.
public enum IA3AdapterWriter {
    /// Writes `adapters` into `folder` (created if needed); each file is written atomically.
    /// - Parameters:
    ///   - baseModel: `base_model_name_or_path` (a hub id or the base folder).
    ///   - revision: `revision`, the hub revision of the base; nil writes null.
    public static func write(_ adapters: IA3Adapters, backend: Backend, to folder: URL, baseModel: String, revision: String? = nil) throws {
        try PeftAdapterWriter.makeFolder(folder)
        var tensors: [SafetensorsWriter.Tensor] = []
        for module in adapters.modules {
            tensors.append(SafetensorsWriter.Tensor(name: PeftAdapterLayout.key(module.ia3.name), shape: module.ia3.vector.shape,
                                                    floats: try backend.download(module.ia3.vector)))
        }
        for tensor in adapters.tensors {
            let floats = try backend.download(tensor.value)
            for key in tensor.peftKeys { tensors.append(SafetensorsWriter.Tensor(name: key, shape: tensor.value.shape, floats: floats)) }
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        try PeftAdapterWriter.writeJSON(configObject(adapters, baseModel: baseModel, revision: revision),
                                        to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
    }

    /// adapter_config.json's fields, as peft's IA3Config writes them.
    static func configObject(_ adapters: IA3Adapters, baseModel: String, revision: String?) -> JSONValue {
        // Short names (k_proj, ...) of the modules adapted, as peft users write them; a regular expression as given.
        func shortNames(_ modules: [String]) -> JSONValue {
            .array(Array(Set(modules.map { String($0.split(separator: ".").last ?? "") })).sorted().map { .string($0) })
        }
        let config = adapters.config
        var targets = shortNames(adapters.modules.map(\.name))
        if case let .regex(pattern)? = config.targetModules { targets = .string(pattern) }
        var feedforward = shortNames(adapters.modules.filter(\.ia3.isFeedforward).map(\.name))
        if case let .regex(pattern)? = config.feedforwardModules { feedforward = .string(pattern) }
        return [
            "peft_type": "IA3",
            "task_type": "CAUSAL_LM",
            "auto_mapping": .null,
            "base_model_name_or_path": .string(baseModel),
            "revision": revision.map { .string($0) } ?? .null,
            "target_modules": targets,
            "exclude_modules": .null,
            "feedforward_modules": feedforward,
            "fan_in_fan_out": false,
            "init_ia3_weights": .bool(config.initIA3Weights),
            "modules_to_save": config.modulesToSave.isEmpty ? .null : .array(config.modulesToSave.map { .string($0) }),
            "inference_mode": true,
        ]
    }
}
