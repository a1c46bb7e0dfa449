import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// Writes LoRA adapters as a peft adapter folder: adapter_config.json and
/// adapter_model.safetensors with peft's key names
/// (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`), loadable by
/// `peft.PeftModel.from_pretrained`.
public enum PeftAdapterWriter {
    /// Creates an adapter's output folder (and its parents), or says it cannot.
    static func makeFolder(_ folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw AdapterError.badOption(name: "output_dir", problem: "\(folder.path) cannot be created: \(error)")
        }
    }

    /// Writes `adapters` into `folder` (created if needed); each file is written atomically.
    /// - Parameters:
    ///   - baseModel: `base_model_name_or_path` (a hub id or the base folder).
    ///   - revision: `revision`, the hub revision the base was taken at (peft records the one given to
    ///     `from_pretrained`); nil writes null.
    public static func write(_ adapters: LoRAAdapters, backend: Backend, to folder: URL, baseModel: String, revision: String? = nil) throws {
        try makeFolder(folder)
        var tensors: [SafetensorsWriter.Tensor] = []
        for module in adapters.modules {
            var parts = [(module.lora.aName, module.lora.a), (module.lora.bName, module.lora.b)]
            if let magnitude = module.lora.magnitude { parts.append((module.lora.magnitudeName, magnitude)) }
            for (name, tensor) in parts {
                tensors.append(SafetensorsWriter.Tensor(name: PeftAdapterLayout.key(name), shape: tensor.shape,
                                                        floats: try backend.download(tensor)))
            }
        }
        // Trained biases and modules_to_save copies, under peft's keys.
        for tensor in adapters.tensors {
            let floats = try backend.download(tensor.value)
            for key in tensor.peftKeys {
                tensors.append(SafetensorsWriter.Tensor(name: key, shape: tensor.value.shape, floats: floats))
            }
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        try writeJSON(configObject(adapters.config, modules: adapters.modules.map(\.name), baseModel: baseModel, revision: revision),
                      to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
    }

    /// adapter_config.json's fields, as peft writes them for a plain LoRA.
    static func configObject(_ config: LoRAConfig, modules: [String], baseModel: String, revision: String? = nil) -> JSONValue {
        // Short names (q_proj, ...) when they identify the modules, as peft users write them.
        let shortNames = Array(Set(modules.map { String($0.split(separator: ".").last ?? "") })).sorted()
        var targets = JSONValue.array(shortNames.map { .string($0) })
        if case let .regex(pattern) = config.targetModules { targets = .string(pattern) }
        // lora_alpha is an int in peft's LoraConfig; a whole alpha is written as one (16, not 16.0).
        let alpha = number(config.loraAlpha)
        return [
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": .string(baseModel),
            "r": .int(config.r),
            "lora_alpha": alpha,
            "lora_dropout": .double(config.loraDropout),
            "target_modules": targets,
            "layers_to_transform": config.layersToTransform.map { .array($0.map { .int($0) }) } ?? .null,
            "bias": .string(config.bias.rawValue),
            "use_rslora": .bool(config.useRslora),
            "use_dora": .bool(config.useDora),
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": initValue(config.initLoraWeights),
            "modules_to_save": config.modulesToSave.isEmpty ? .null : .array(config.modulesToSave.map { .string($0) }),
            "ensure_weight_tying": .bool(config.ensureWeightTying),
            "rank_pattern": .object(JSONObject(config.rankPattern.map { ($0.pattern, JSONValue.int($0.value)) })),
            "alpha_pattern": .object(JSONObject(config.alphaPattern.map { ($0.pattern, number($0.value)) })),
            "revision": revision.map { .string($0) } ?? .null,
        ]
    }

    /// A whole number as an int (16, not 16.0), as peft's LoraConfig holds lora_alpha.
    static func number(_ value: Double) -> JSONValue { Int(exactly: value).map { JSONValue.int($0) } ?? .double(value) }

    /// init_lora_weights as peft writes it: true, false, or its name ("gaussian", "pissa", "pissa_niter_16", "olora").
    static func initValue(_ kind: LoRAInit) -> JSONValue {
        switch kind {
        case .kaiming: return true
        case .linearDefault: return false
        default: return .string(kind.name)
        }
    }

    /// Writes `object` as peft's `save_pretrained` does (`json.dumps(config, indent=2, sort_keys=True)`).
    static func writeJSON(_ object: JSONValue, to url: URL) throws {
        try AtomicWrite.write(Data(object.bytes(.pythonIndented.sortingKeys())), to: url)
    }
}
