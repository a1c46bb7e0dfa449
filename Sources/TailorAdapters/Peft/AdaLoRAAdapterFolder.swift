import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// Reading and writing a peft AdaLoRA adapter folder (adapter_config.json with `peft_type:
/// "ADALORA"` + adapter_model.safetensors), as `PeftModel.from_pretrained` reads it and
/// `save_pretrained` writes it. Tensors are named `base_model.model.<module>.lora_A` [r, in],
/// `.lora_E` [r, 1] and `.lora_B` [out, r] (no `.weight`); ranknum is not saved (it is init_r).
/// With a `rank_pattern` (module + ".lora_E" → one flag per initial rank) only the kept rows of
/// A and E and columns of B are saved. `modules_to_save` copies sit beside them as in a LoRA folder.
public enum AdaLoRAAdapterFolder {
    static let prefix = PeftAdapterLayout.keyPrefix
    static let suffixes = [PeftAdapterLayout.adaLoRAASuffix, PeftAdapterLayout.adaLoRAESuffix, PeftAdapterLayout.adaLoRABSuffix]

    /// Whether `folder` holds an AdaLoRA adapter.
    public static func isAdaLoRA(folder: URL) -> Bool { (try? IA3AdapterFolder.peftType(folder: folder)) == "ADALORA" }

    /// The AdaLoRA settings of `folder`'s adapter_config.json (rank_pattern keyed by module name).
    /// - Throws: `AdapterError.adapterConfig` naming the file and field.
    public static func readConfig(folder: URL) throws -> AdaLoRAConfig {
        let (root, file) = try IA3AdapterFolder.root(folder: folder)
        func fail(_ field: String, _ problem: String) -> AdapterError { .adapterConfig(file: file, field: field, problem: problem) }
        guard root["peft_type"]?.stringValue == "ADALORA" else {
            throw fail("peft_type", "is \(root["peft_type"]?.text(.python) ?? "missing"); an AdaLoRA folder says \"ADALORA\"")
        }
        func integer(_ field: String, _ fallback: Int) throws -> Int {
            guard let value = root[field], !value.isNull else { return fallback }
            guard let number = value.integralValue else { throw fail(field, "is \(value.text(.python)); it must be an integer") }
            return number
        }
        func real(_ field: String, _ fallback: Double) throws -> Double {
            guard let value = root[field], !value.isNull else { return fallback }
            guard let number = value.doubleValue else { throw fail(field, "is \(value.text(.python)); it must be a number") }
            return number
        }
        // Fields that change the computation and that Tailor does not implement for AdaLoRA.
        // (fan_in_fan_out is for Conv1D; peft turns it off for nn.Linear, so it changes nothing here.)
        for field in ["layers_to_transform", "exclude_modules", "use_dora", "layer_replication", "lora_bias"] {
            guard let value = root[field], !value.isNull, value.boolValue != false, value.arrayValue(of: \.stringValue)?.isEmpty != true else { continue }
            throw fail(field, "is set (\(value.text(.python))), which Tailor does not implement for AdaLoRA; use an adapter trained without it, or merge it with peft first")
        }
        if let value = root["bias"], !value.isNull, value.stringValue != "none" {
            throw fail("bias", "is \(value.text(.python)), which Tailor does not implement for AdaLoRA (it reads \"none\")")
        }
        let targets: TargetModules?
        switch root["target_modules"] {
        case nil, .null?: targets = nil
        case .string(let text)?: targets = text == "all-linear" ? .allLinear : .regex(text)
        case let value?:
            guard let names = value.arrayValue(of: \.stringValue) else {
                throw fail("target_modules", "is \(value.text(.python)); it must be a list of module names, a string (a regular expression) or null")
            }
            targets = .names(names)
        }
        var modulesToSave: [String] = []
        if let value = root["modules_to_save"], !value.isNull {
            guard let names = value.arrayValue(of: \.stringValue) else { throw fail("modules_to_save", "must be a list of module names") }
            modulesToSave = names
        }
        var pattern: [String: [Bool]]?
        if let value = root["rank_pattern"], !value.isNull {
            guard let object = value.objectValue else { throw fail("rank_pattern", "must be an object of module.lora_E names to lists of true/false") }
            var read: [String: [Bool]] = [:]
            for (key, item) in object {
                guard let flags = item.arrayValue(of: \.boolValue) else {
                    throw fail("rank_pattern", "gives '\(key)' \(item.text(.python)), which is not a list of true/false (one per initial rank)")
                }
                read[key.hasSuffix(PeftAdapterLayout.adaLoRAESuffix) ? String(key.dropLast(PeftAdapterLayout.adaLoRAESuffix.count)) : key] = flags
            }
            pattern = read.isEmpty ? nil : read
        }
        let config = AdaLoRAConfig(targetModules: targets, initR: try integer("init_r", 12), targetR: try integer("target_r", 8),
                                   tinit: try integer("tinit", 0), tfinal: try integer("tfinal", 0), deltaT: try integer("deltaT", 1),
                                   beta1: try real("beta1", 0.85), beta2: try real("beta2", 0.85),
                                   orthRegWeight: try real("orth_reg_weight", 0.5),
                                   totalStep: root["total_step"]?.integralValue, loraAlpha: try real("lora_alpha", 8),
                                   loraDropout: try real("lora_dropout", 0), modulesToSave: modulesToSave, rankPattern: pattern)
        do { try config.check() } catch AdapterError.badOption(let field, let problem) { throw fail(field, problem) }
        if let pattern, let (module, flags) = pattern.first(where: { $0.value.count != config.initR }) {
            throw fail("rank_pattern", "gives \(module) \(flags.count) flags, but init_r is \(config.initR)")
        }
        return config
    }

    /// Loads the AdaLoRA adapter in `folder` for `model` without attaching it (see `AdaLoRAAdapters.attach(to:)`).
    /// Each module's rank is the count of its kept flags in rank_pattern (init_r without one).
    /// - Throws: `AdapterError.adapterConfig` for the config, `.adapterWeight` naming the tensor when
    ///   one is missing, extra or mis-shaped (an adapter made for another base model).
    public static func load(folder: URL, for model: CausalLM) throws -> AdaLoRAAdapters {
        var config = try readConfig(folder: folder)
        config.loraDropout = 0  // a training-time setting; inference runs without it
        if config.targetModules == nil {
            do { config = try config.resolved(for: model.config.architecture) } catch AdapterError.badOption(let field, let problem) {
                throw AdapterError.adapterConfig(file: folder.appendingPathComponent(PeftAdapterLayout.configFile).path, field: field, problem: problem)
            }
        }
        let url = folder.appendingPathComponent(PeftAdapterLayout.weightsFile)
        let file = try SafetensorsFile(url: url)
        var moduleNames: [String] = []
        var others: [String] = []
        for name in file.tensorNames {
            guard name.hasPrefix(prefix), let suffix = suffixes.first(where: name.hasSuffix) else {
                others.append(name)
                continue
            }
            let module = String(name.dropFirst(prefix.count).dropLast(suffix.count))
            if !moduleNames.contains(module) { moduleNames.append(module) }
        }
        guard !moduleNames.isEmpty else {
            throw AdapterError.adapterWeight(name: "*", file: url.path, problem: "holds no AdaLoRA tensors (base_model.model.<module>.lora_A / lora_E / lora_B)")
        }
        let order = model.linearModuleNames
        moduleNames.sort { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
        var modules: [(name: String, adalora: AdaLoRA)] = []
        for module in moduleNames {
            guard let linear = model.linear(module: module) else {
                throw AdapterError.adapterWeight(name: prefix + module + PeftAdapterLayout.adaLoRAASuffix, file: url.path,
                                                  problem: "adapts module '\(module)', which this model does not have; was the adapter made for another base model?")
            }
            let r = config.rankPattern?[module].map { $0.filter { $0 }.count } ?? config.initR
            func tensor(_ suffix: String, _ shape: [Int]) throws -> Tensor {
                let key = prefix + module + suffix
                guard let info = file.info(key) else {
                    throw AdapterError.adapterWeight(name: key, file: url.path, problem: "is missing (the module's other AdaLoRA tensors are present)")
                }
                guard info.shape == shape else {
                    throw AdapterError.adapterWeight(name: key, file: url.path,
                                                      problem: "has shape \(info.shape) but this model's \(module) with rank \(r) (init_r and rank_pattern) needs \(shape); was the adapter made for another base model?")
                }
                return try model.backend.upload(r == 0 ? [] : try file.floats(key), shape: shape, dtype: .f32)
            }
            modules.append((module, AdaLoRA(module: module, a: try tensor(PeftAdapterLayout.adaLoRAASuffix, [r, linear.inFeatures]),
                                            e: try tensor(PeftAdapterLayout.adaLoRAESuffix, [r, 1]),
                                            b: try tensor(PeftAdapterLayout.adaLoRABSuffix, [linear.outFeatures, r]), scale: config.scale)))
        }
        let tensors = try AdapterTensor.loadSaved(for: model, selection: config.selection, adapted: modules.map(\.name), from: file,
                                                  url: url, folder: folder, others: others,
                                                  kind: "an AdaLoRA tensor (base_model.model.<module>.lora_A / lora_E / lora_B)")
        return AdaLoRAAdapters(config: config, modules: modules, tensors: tensors)
    }
}

/// Writes AdaLoRA adapters as a peft adapter folder, loadable by `peft.PeftModel.from_pretrained`.
public enum AdaLoRAAdapterWriter {
    /// Writes `adapters` into `folder` (created if needed); each file is written atomically. With a
    /// rank_pattern, only the kept rows of A and E and columns of B are written, as peft saves them.
    /// - Parameters:
    ///   - baseModel: `base_model_name_or_path` (a hub id or the base folder).
    ///   - revision: `revision`, the hub revision of the base; nil writes null.
    public static func write(_ adapters: AdaLoRAAdapters, backend: Backend, to folder: URL, baseModel: String, revision: String? = nil) throws {
        try PeftAdapterWriter.makeFolder(folder)
        var tensors: [SafetensorsWriter.Tensor] = []
        for module in adapters.modules {
            let m = module.adalora, r = m.rank
            // The rows kept: the pattern's, when it still describes this module's full rank.
            let keep = adapters.config.rankPattern?[module.name].flatMap { $0.count == r ? $0 : nil } ?? [Bool](repeating: true, count: r)
            let kept = keep.indices.filter { keep[$0] }
            let (a, e, b) = (try backend.download(m.a), try backend.download(m.e), try backend.download(m.b))
            let columns = r > 0 ? a.count / r : 0, outs = r > 0 ? b.count / r : 0
            let keptA = kept.flatMap { a[($0 * columns)..<(($0 + 1) * columns)] }
            let keptB = (0..<outs).flatMap { o in kept.map { b[o * r + $0] } }
            tensors.append(SafetensorsWriter.Tensor(name: PeftAdapterLayout.key(m.aName), shape: [kept.count, columns], floats: keptA))
            tensors.append(SafetensorsWriter.Tensor(name: PeftAdapterLayout.key(m.bName), shape: [outs, kept.count], floats: keptB))
            tensors.append(SafetensorsWriter.Tensor(name: PeftAdapterLayout.key(m.eName), shape: [kept.count, 1], floats: kept.map { e[$0] }))
        }
        for tensor in adapters.tensors {
            let floats = try backend.download(tensor.value)
            for key in tensor.peftKeys { tensors.append(SafetensorsWriter.Tensor(name: key, shape: tensor.value.shape, floats: floats)) }
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        try PeftAdapterWriter.writeJSON(configObject(adapters, baseModel: baseModel, revision: revision),
                                        to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
    }

    /// adapter_config.json's fields, as peft's AdaLoraConfig writes them.
    static func configObject(_ adapters: AdaLoRAAdapters, baseModel: String, revision: String?) -> JSONValue {
        let config = adapters.config
        var targets = JSONValue.array(Array(Set(adapters.modules.map { String($0.name.split(separator: ".").last ?? "") })).sorted().map { .string($0) })
        if case let .regex(pattern)? = config.targetModules { targets = .string(pattern) }
        let pattern: JSONValue = config.rankPattern.map { pattern in
            .object(JSONObject(pattern.sorted { $0.key < $1.key }.map { ($0.key + PeftAdapterLayout.adaLoRAESuffix, JSONValue.array($0.value.map { .bool($0) })) }))
        } ?? .null
        return [
            "peft_type": "ADALORA",
            "task_type": "CAUSAL_LM",
            "auto_mapping": .null,
            "base_model_name_or_path": .string(baseModel),
            "revision": revision.map { .string($0) } ?? .null,
            "r": .int(8),
            "init_r": .int(config.initR),
            "target_r": .int(config.targetR),
            "tinit": .int(config.tinit),
            "tfinal": .int(config.tfinal),
            "deltaT": .int(config.deltaT),
            "beta1": .double(config.beta1),
            "beta2": .double(config.beta2),
            "orth_reg_weight": .double(config.orthRegWeight),
            "total_step": config.totalStep.map { .int($0) } ?? .null,
            "rank_pattern": pattern,
            "lora_alpha": PeftAdapterWriter.number(config.loraAlpha),
            "lora_dropout": .double(config.loraDropout),
            "target_modules": targets,
            "exclude_modules": .null,
            "layers_to_transform": .null,
            "bias": "none",
            "use_rslora": false,
            "use_dora": false,
            "fan_in_fan_out": false,
            "init_lora_weights": true,
            "modules_to_save": config.modulesToSave.isEmpty ? .null : .array(config.modulesToSave.map { .string($0) }),
            "inference_mode": true,
        ]
    }
}
