import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// Reading a peft LoRA adapter folder (adapter_config.json + adapter_model.safetensors), as
/// `PeftModel.from_pretrained` reads it. Tensors are named
/// `base_model.model.<module>.lora_A.weight` [r, in] and `...lora_B.weight` [out, r].
///
/// `bias` ("all", "lora_only") and `modules_to_save` bring full tensors beside A and B
/// (`...q_proj.base_layer.bias`, `base_model.model.model.embed_tokens.weight`), which the
/// adapters put in place of the model's own while attached.
///
/// DoRA folders (`use_dora`) bring `...lora_magnitude_vector` [out] per module; `rank_pattern`
/// and `alpha_pattern` give modules their own r and lora_alpha. Every adapter_config field that
/// changes the computation and that Tailor does not implement (`layer_replication`, `lora_bias`,
/// ...) is an error naming it; nothing is silently ignored. A folder whose `init_lora_weights` is
/// "pissa", "pissa_niter_K" or "olora" was trained on an adjusted base: loading it recomputes that
/// base from the model's weights, as peft's `from_pretrained` does (`LoRAAdapters.residuals`). (Writing folders is separate: `PeftAdapterWriter`; file and key names: `PeftAdapterLayout`.)
public enum PeftAdapterFolder {
    static let prefix = PeftAdapterLayout.keyPrefix
    static let aSuffix = PeftAdapterLayout.loraASuffix, bSuffix = PeftAdapterLayout.loraBSuffix

    /// The LoRA settings of `folder`'s adapter_config.json.
    /// - Throws: `AdapterError.adapterConfig` naming the file and field.
    public static func readConfig(folder: URL) throws -> LoRAConfig {
        let url = folder.appendingPathComponent(PeftAdapterLayout.configFile)
        let file = url.path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AdapterError.adapterConfig(file: file, field: nil, problem: "cannot be read; is \(folder.path) a peft adapter folder?")
        }
        let root: JSONObject
        do {
            guard let object = try JSONValue(parsing: [UInt8](data), file: file).objectValue else {
                throw AdapterError.adapterConfig(file: file, field: nil, problem: "is not a JSON object")
            }
            root = object
        } catch let error as JSONError {
            throw AdapterError.adapterConfig(file: file, field: nil, problem: "is \(error.detail)")
        }
        // Python's falsiness, which is how peft reads these fields (`if config.use_dora:`).
        func isUnset(_ value: JSONValue?) -> Bool {
            switch value {
            case nil, .null?: return true
            case .bool(let b)?: return !b
            case .int(let i)?: return i == 0
            case .double(let d)?: return d == 0
            case .string(let s)?: return s.isEmpty
            case .array(let items)?: return items.isEmpty
            case .object(let object)?: return object.isEmpty
            case .bigInteger?: return false
            }
        }
        if let type = root["peft_type"]?.stringValue, type != "LORA" {
            let problem = type == "ADALORA"
                ? "is 'ADALORA': an AdaLoRA adapter, which tailor generate, chat, eval, serve and merge take (as the LoRA it computes); this step takes LoRA adapters only: merge it into its base with tailor merge first"
                : type == "IA3"
                ? "is 'IA3': an IA³ adapter, which tailor generate, chat, eval and merge take; this step takes LoRA adapters only (GGUF export and serving refuse IA³): merge it into its base with tailor merge first"
                : PromptTuningFolder.peftTypes.contains(type) || type == PrefixTuningFolder.peftType
                ? "is '\(type)': virtual tokens put before every sequence, which tailor generate, chat and eval take; peft has no merge for them (they are not weights), and this step takes LoRA adapters only"
                : "is '\(type)'; Tailor reads LORA adapters (IA3 ones for generate, chat, eval and merge; PROMPT_TUNING, P_TUNING and PREFIX_TUNING ones for generate, chat and eval) only"
            throw AdapterError.adapterConfig(file: file, field: "peft_type", problem: problem)
        }
        // Fields whose non-default values change the computation and that Tailor does not implement.
        for field in ["layer_replication", "use_qalora",
                      "lora_bias", "trainable_token_indices", "alora_invocation_tokens", "fan_in_fan_out",
                      "target_parameters", "arrow_config", "use_bdlora"] where !isUnset(root[field]) {
            throw AdapterError.adapterConfig(file: file, field: field, problem: "is set (\(root[field]?.text(.python) ?? "")), which Tailor does not implement; use an adapter trained without it, or merge it with peft first")
        }
        var bias = LoRABias.none
        if let value = root["bias"], !value.isNull {
            guard let text = value.stringValue, let known = LoRABias(rawValue: text) else {
                throw AdapterError.adapterConfig(file: file, field: "bias", problem: "is \(value.text(.python)); it must be \"none\", \"all\" or \"lora_only\"")
            }
            bias = known
        }
        var initKind = LoRAInit.kaiming
        switch root["init_lora_weights"] {
        case nil, .null?: break
        case .bool(let flag)?: initKind = flag ? .kaiming : .linearDefault
        case .string(let name)? where name != "true" && name != "false" && LoRAInit(name: name) != nil:
            // PiSSA and OLoRA: loading recomputes the adjusted base from the original one, as peft does.
            initKind = LoRAInit(name: name) ?? .kaiming
        case let other?:
            // LoftQ, EVA, CorDA, ... change the base weights in ways Tailor does not compute.
            let detail = other.stringValue.flatMap(LoRAInit.niterProblem).map { "; \($0)" } ?? ""
            throw AdapterError.adapterConfig(file: file, field: "init_lora_weights", problem: "is \(other.text(.python)), which Tailor does not implement (it reads true, false, \"gaussian\", \"pissa\", \"pissa_niter_K\" and \"olora\")\(detail); convert the adapter with peft first (save_pretrained with path_initial_model_for_weight_conversion)")
        }
        var modulesToSave: [String] = []
        if let value = root["modules_to_save"], !value.isNull {
            guard let names = value.arrayValue(of: \.stringValue) else {
                throw AdapterError.adapterConfig(file: file, field: "modules_to_save", problem: "must be a list of module names")
            }
            modulesToSave = names
        }
        guard let r = root["r"]?.integralValue, r > 0 else {
            throw AdapterError.adapterConfig(file: file, field: "r", problem: "must be a positive integer")
        }
        guard let alpha = root["lora_alpha"]?.doubleValue, alpha > 0 else {
            throw AdapterError.adapterConfig(file: file, field: "lora_alpha", problem: "must be a positive number")
        }
        let targets: TargetModules
        if let names = root["target_modules"]?.arrayValue(of: \.stringValue) {
            targets = .names(names)
        } else if let text = root["target_modules"]?.stringValue {
            targets = text == "all-linear" ? .allLinear : .regex(text)
        } else {
            throw AdapterError.adapterConfig(file: file, field: "target_modules", problem: "must be a list of names or a string")
        }
        var layers: [Int]?
        if let value = root["layers_to_transform"], !value.isNull {
            guard let list = value.arrayValue(of: \.integralValue) ?? value.integralValue.map({ [$0] }) else {
                throw AdapterError.adapterConfig(file: file, field: "layers_to_transform", problem: "must be an integer or a list of integers")
            }
            layers = list
        }
        var useDora = false
        if let value = root["use_dora"], !value.isNull {
            guard let flag = value.boolValue else {
                throw AdapterError.adapterConfig(file: file, field: "use_dora", problem: "is \(value.text(.python)); it must be true or false")
            }
            useDora = flag
        }
        // Patterns: objects of key -> number, in the file's order (peft takes the first key that matches).
        func pattern<T>(_ field: String, _ read: (JSONValue) -> T?, _ kind: String) throws -> [(pattern: String, value: T)] {
            guard let value = root[field], !value.isNull else { return [] }
            guard let object = value.objectValue else {
                throw AdapterError.adapterConfig(file: file, field: field, problem: "must be an object of module-name patterns to \(kind)")
            }
            return try object.map { key, item in
                guard let number = read(item) else {
                    throw AdapterError.adapterConfig(file: file, field: field, problem: "gives '\(key)' \(item.text(.python)), which is not \(kind)")
                }
                return (key, number)
            }
        }
        let config = LoRAConfig(r: r, loraAlpha: alpha, loraDropout: root["lora_dropout"]?.doubleValue ?? 0,
                                targetModules: targets, useRslora: root["use_rslora"]?.boolValue ?? false, layersToTransform: layers,
                                initLoraWeights: initKind, bias: bias, modulesToSave: modulesToSave,
                                ensureWeightTying: root["ensure_weight_tying"]?.boolValue ?? false, useDora: useDora,
                                rankPattern: try pattern("rank_pattern", \.integralValue, "a positive integer rank"),
                                alphaPattern: try pattern("alpha_pattern", \.doubleValue, "a positive lora_alpha"))
        do { try LoRAAdapters.check(config) } catch AdapterError.badOption(let field, let problem) {
            throw AdapterError.adapterConfig(file: file, field: field, problem: problem)
        }
        return config
    }

    /// Loads the adapter in `folder` for `model` without attaching it (see `LoRAAdapters.attach(to:)`).
    /// A and B are kept in f32 on the model's backend.
    /// - Throws: `AdapterError.adapterConfig` for the config, `.adapterWeight` naming the tensor when
    ///   one is missing, extra or mis-shaped (an adapter made for another base model).
    public static func load(folder: URL, for model: CausalLM) throws -> LoRAAdapters {
        var config = try readConfig(folder: folder)
        config.loraDropout = 0  // dropout is a training-time setting; inference runs without it
        let url = folder.appendingPathComponent(PeftAdapterLayout.weightsFile)
        let file = try SafetensorsFile(url: url)
        // Module name -> (A name, B name) from the file.
        var moduleNames: [String] = []
        var others: [String] = []
        for name in file.tensorNames {
            guard name.hasPrefix(prefix), name.hasSuffix(aSuffix) || name.hasSuffix(bSuffix)
                    || (config.useDora && name.hasSuffix(PeftAdapterLayout.magnitudeSuffix)) else {
                others.append(name)
                continue
            }
            let suffixLength = name.hasSuffix(PeftAdapterLayout.magnitudeSuffix) ? PeftAdapterLayout.magnitudeSuffix.count : aSuffix.count
            let module = String(name.dropFirst(prefix.count).dropLast(suffixLength))
            if !moduleNames.contains(module) { moduleNames.append(module) }
        }
        guard !moduleNames.isEmpty else {
            throw AdapterError.adapterWeight(name: "*", file: url.path, problem: "holds no LoRA tensors")
        }
        let order = model.linearModuleNames
        moduleNames.sort { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
        var modules: [(name: String, lora: LoRA)] = []
        var residuals: [(name: String, value: Tensor)] = []
        let workspace = LoRAWorkspace()
        for (index, module) in moduleNames.enumerated() {
            guard let linear = model.linear(module: module) else {
                throw AdapterError.adapterWeight(name: prefix + module + aSuffix, file: url.path,
                                                  problem: "adapts module '\(module)', which this model does not have; was the adapter made for another base model?")
            }
            func tensor(_ suffix: String, _ shape: [Int]) throws -> Tensor {
                let name = prefix + module + suffix
                guard let info = file.info(name) else {
                    throw AdapterError.adapterWeight(name: name, file: url.path, problem: "is missing (its pair is present)")
                }
                guard info.shape == shape else {
                    throw AdapterError.adapterWeight(name: name, file: url.path,
                                                      problem: "has shape \(info.shape) but this model's \(module) with r = \(r) needs \(shape); was the adapter made for another base model (or with another rank_pattern)?")
                }
                return try model.backend.upload(try file.floats(name), shape: shape, dtype: .f32)
            }
            let r = config.rank(of: module)
            let a = try tensor(aSuffix, [r, linear.inFeatures])
            let b = try tensor(bSuffix, [linear.outFeatures, r])
            let magnitude = config.useDora ? try tensor(PeftAdapterLayout.magnitudeSuffix, [linear.outFeatures]) : nil
            if config.initLoraWeights.adjustsBase {
                // As peft's from_pretrained: the init runs again on the original base, and its
                // adjusted weight is what the saved A and B were trained on.
                residuals.append((linear.name, try LoRA.decomposedInit(config.initLoraWeights, module: module, weight: linear.weight, r: r,
                                                                       scaling: config.scaling(of: module), moduleIndex: index,
                                                                       backend: model.backend).residual))
            }
            modules.append((module, LoRA(module: module, a: a, b: b, scaling: config.scaling(of: module), magnitude: magnitude,
                                         workspace: workspace)))
        }
        // The full tensors bias and modules_to_save bring; nothing else may be in the file.
        let plans: [(name: String, peftKeys: [String], source: Tensor)]
        do {
            plans = try AdapterTensor.plan(for: model, config: config, adapted: modules.map(\.name))
        } catch AdapterError.badOption(let field, let problem) {
            // The setting came from the folder's config: name the file and its field, not an "option".
            throw AdapterError.adapterConfig(file: folder.appendingPathComponent(PeftAdapterLayout.configFile).path,
                                             field: field, problem: problem)
        }
        let expected = Set(plans.flatMap(\.peftKeys))
        if let stray = others.first(where: { !expected.contains($0) }) {
            throw AdapterError.adapterWeight(name: stray, file: url.path, problem: "is neither a LoRA A/B tensor (base_model.model.<module>.lora_A.weight) nor a tensor that adapter_config.json's bias or modules_to_save asks for; Tailor cannot apply it")
        }
        let tensors = try plans.map { plan in
            let key = plan.peftKeys[0]
            guard let info = file.info(key) else {
                throw AdapterError.adapterWeight(name: key, file: url.path, problem: "is missing, but adapter_config.json's bias or modules_to_save asks for it")
            }
            guard info.shape == plan.source.shape else {
                throw AdapterError.adapterWeight(name: key, file: url.path,
                                                  problem: "has shape \(info.shape) but this model's \(plan.name) is \(plan.source.shape); was the adapter made for another base model?")
            }
            return AdapterTensor(name: plan.name, peftKeys: plan.peftKeys,
                                 value: try model.backend.upload(try file.floats(key), shape: info.shape, dtype: .f32))
        }
        return LoRAAdapters(config: config, modules: modules, tensors: tensors, residuals: residuals)
    }
}
