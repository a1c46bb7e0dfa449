import Foundation
import TailorFormats
import TailorModels
import TailorTensor

/// Reading a peft LoRA adapter folder (adapter_config.json + adapter_model.safetensors), as
/// `PeftModel.from_pretrained` reads it. Tensors are named
/// `base_model.model.<module>.lora_A.weight` [r, in] and `...lora_B.weight` [out, r].
///
/// Every adapter_config field that changes the computation and that Tailor does not implement
/// (`use_dora`, `rank_pattern`, `alpha_pattern`, `modules_to_save`, `bias`, ...) is an error
/// naming it; nothing is silently ignored. (Writing folders is separate; see the trainer.)
public enum PeftAdapterFolder {
    public static let configName = "adapter_config.json"
    public static let weightsName = "adapter_model.safetensors"
    static let prefix = "base_model.model."

    /// The LoRA settings of `folder`'s adapter_config.json.
    /// - Throws: `TrainingError.adapterConfig` naming the file and field.
    public static func readConfig(folder: URL) throws -> LoRAConfig {
        let url = folder.appendingPathComponent(configName)
        let file = url.path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TrainingError.adapterConfig(file: file, field: nil, problem: "cannot be read; is \(folder.path) a peft adapter folder?")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TrainingError.adapterConfig(file: file, field: nil, problem: "is not a JSON object")
        }
        func isUnset(_ value: Any?) -> Bool {
            switch value {
            case nil, is NSNull: return true
            case let b as Bool: return !b
            case let d as [String: Any]: return d.isEmpty
            case let a as [Any]: return a.isEmpty
            default: return false
            }
        }
        if let type = root["peft_type"] as? String, type != "LORA" {
            throw TrainingError.adapterConfig(file: file, field: "peft_type", problem: "is '\(type)'; Tailor reads LORA adapters only")
        }
        // Fields whose non-default values change the computation and that Tailor does not implement.
        for field in ["use_dora", "rank_pattern", "alpha_pattern", "modules_to_save", "layer_replication", "use_qalora",
                      "lora_bias", "trainable_token_indices", "alora_invocation_tokens", "fan_in_fan_out",
                      "target_parameters", "arrow_config", "use_bdlora"] where !isUnset(root[field]) {
            throw TrainingError.adapterConfig(file: file, field: field, problem: "is set (\(String(describing: root[field]!))), which Tailor does not implement; use an adapter trained without it, or merge it with peft first")
        }
        if let bias = root["bias"] as? String, bias != "none" {
            throw TrainingError.adapterConfig(file: file, field: "bias", problem: "is '\(bias)'; Tailor implements bias = \"none\" only")
        }
        guard let r = root["r"] as? Int, r > 0 else {
            throw TrainingError.adapterConfig(file: file, field: "r", problem: "must be a positive integer")
        }
        guard let alpha = (root["lora_alpha"] as? NSNumber)?.doubleValue, alpha > 0 else {
            throw TrainingError.adapterConfig(file: file, field: "lora_alpha", problem: "must be a positive number")
        }
        let targets: TargetModules
        switch root["target_modules"] {
        case let names as [String]: targets = .names(names)
        case let text as String: targets = text == "all-linear" ? .allLinear : .regex(text)
        default: throw TrainingError.adapterConfig(file: file, field: "target_modules", problem: "must be a list of names or a string")
        }
        var layers: [Int]?
        switch root["layers_to_transform"] {
        case nil, is NSNull: layers = nil
        case let list as [Int]: layers = list
        case let one as Int: layers = [one]
        default: throw TrainingError.adapterConfig(file: file, field: "layers_to_transform", problem: "must be an integer or a list of integers")
        }
        return LoRAConfig(r: r, loraAlpha: alpha, loraDropout: (root["lora_dropout"] as? NSNumber)?.doubleValue ?? 0,
                          targetModules: targets, useRslora: root["use_rslora"] as? Bool ?? false, layersToTransform: layers)
    }

    /// Loads the adapter in `folder` for `model` without attaching it (see `LoRAAdapters.attach(to:)`).
    /// A and B are kept in f32 on the model's backend.
    /// - Throws: `TrainingError.adapterConfig` for the config, `.adapterWeight` naming the tensor when
    ///   one is missing, extra or mis-shaped (an adapter made for another base model).
    public static func load(folder: URL, for model: CausalLM) throws -> LoRAAdapters {
        var config = try readConfig(folder: folder)
        config.loraDropout = 0  // dropout is a training-time setting; inference runs without it
        let url = folder.appendingPathComponent(weightsName)
        let file = try SafetensorsFile(url: url)
        // Module name -> (A name, B name) from the file.
        var moduleNames: [String] = []
        for name in file.tensorNames {
            guard name.hasPrefix(prefix), name.hasSuffix(".lora_A.weight") || name.hasSuffix(".lora_B.weight") else {
                throw TrainingError.adapterWeight(name: name, file: url.path, problem: "is not a LoRA A/B tensor (base_model.model.<module>.lora_A.weight); Tailor cannot apply it")
            }
            let module = String(name.dropFirst(prefix.count).dropLast(".lora_A.weight".count))
            if !moduleNames.contains(module) { moduleNames.append(module) }
        }
        guard !moduleNames.isEmpty else {
            throw TrainingError.adapterWeight(name: "*", file: url.path, problem: "holds no LoRA tensors")
        }
        let order = model.linearModuleNames
        moduleNames.sort { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
        var modules: [(name: String, lora: LoRA)] = []
        for module in moduleNames {
            guard let linear = model.linear(module: module) else {
                throw TrainingError.adapterWeight(name: prefix + module + ".lora_A.weight", file: url.path,
                                                  problem: "adapts module '\(module)', which this model does not have; was the adapter made for another base model?")
            }
            func tensor(_ suffix: String, _ shape: [Int]) throws -> Tensor {
                let name = prefix + module + suffix
                guard let info = file.info(name) else {
                    throw TrainingError.adapterWeight(name: name, file: url.path, problem: "is missing (its pair is present)")
                }
                guard info.shape == shape else {
                    throw TrainingError.adapterWeight(name: name, file: url.path,
                                                      problem: "has shape \(info.shape) but this model's \(module) with r = \(config.r) needs \(shape); was the adapter made for another base model?")
                }
                return try model.backend.upload(try file.floats(name), shape: shape, dtype: .f32)
            }
            let a = try tensor(".lora_A.weight", [config.r, linear.inFeatures])
            let b = try tensor(".lora_B.weight", [linear.outFeatures, config.r])
            modules.append((module, LoRA(module: module, a: a, b: b, scaling: config.scaling)))
        }
        return LoRAAdapters(config: config, modules: modules)
    }
}

extension LoRAAdapters {
    /// Attaches these adapters' side paths to `model` (replacing any adapters on those modules).
    public func attach(to model: CausalLM) throws {
        for module in modules { try model.setAdapter(module.lora, module: module.name) }
    }
}
