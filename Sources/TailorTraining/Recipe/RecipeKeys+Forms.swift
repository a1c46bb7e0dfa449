import TailorAdapters

/// The values of the table's keys that take more than one form.
extension RecipeKeys {
    /// target_modules: a list of names, "all-linear" (LLaMA-Factory: "all"), or a regex string.
    static func targetModules(_ value: RecipeValue, _ key: String) throws -> TargetModules {
        switch value {
        case let .list(items): return .names(items)
        case let .string(s):
            if s == "all-linear" || s == "all" { return .allLinear }
            if s.contains(",") { return .names(s.split(separator: ",").map { String($0).trimmingSpaces }) }
            if s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { return .names([s]) }
            return .regex(s)
        default:
            throw TrainingError.wrongValueType(key: key, expected: "a list of module names, 'all-linear' or a regular expression",
                                               got: value.description)
        }
    }

    static func targetModulesYAML(_ targets: TargetModules) -> String {
        switch targets {
        case .allLinear: return "all-linear"
        case let .names(names): return "[" + names.joined(separator: ", ") + "]"
        case let .regex(pattern): return RecipeYAML.quote(pattern)
        }
    }

    /// rank_pattern / alpha_pattern: pattern → number pairs in the order given. A YAML mapping
    /// arrives as a list of "pattern=number" (the CLI's reading of a mapping), a flag as
    /// "pattern=number,..." or "{pattern: number, ...}"; each pair splits at its last '=' or ':'.
    static func modulePatterns(_ value: RecipeValue, _ key: String) throws -> [(String, Double)] {
        if value == .null { return [] }
        var items: [String]
        if case let .string(text) = value, text.hasPrefix("{"), text.hasSuffix("}") {
            items = text.dropFirst().dropLast().split(separator: ",").map { String($0) }
        } else {
            items = try value.list(key)
        }
        items = items.map(\.trimmingSpaces).filter { !$0.isEmpty }
        return try items.map { item in
            guard let at = item.lastIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw TrainingError.wrongValueType(key: key, expected: "a mapping of module-name pattern to number, e.g. {q_proj: 8}",
                                                   got: item)
            }
            let pattern = RecipeValue.unquoted(String(item[..<at]).trimmingSpaces)
            let text = String(item[item.index(after: at)...]).trimmingSpaces
            guard !pattern.isEmpty, let number = Double(text), number.isFinite, number > 0 else {
                throw TrainingError.invalidValue(key: key, problem: "entry '\(item)' must be a module-name pattern and a positive number, e.g. q_proj: 8")
            }
            return (pattern, number)
        }
    }

    /// A pattern mapping as YAML writes it: {'q_proj': 8, 'layers\.0\..*': 2} (keys single-quoted, so regular
    /// expressions stay literal).
    static func modulePatternsYAML(_ pairs: [(pattern: String, value: Double)]) -> String? {
        guard !pairs.isEmpty else { return nil }
        return "{" + pairs.map { pair in
            "'" + pair.pattern.replacingOccurrences(of: "'", with: "''") + "': " + RecipeValue.number(pair.value).description
        }.joined(separator: ", ") + "}"
    }

    /// layers_to_transform: layer numbers.
    static func layerNumbers(_ value: RecipeValue, _ key: String) throws -> [Int] {
        try value.list(key).map { item in
            guard let index = Int(item) else {
                throw TrainingError.wrongValueType(key: key, expected: "a list of layer numbers", got: item)
            }
            return index
        }
    }

    /// init_lora_weights: true, false, gaussian, pissa, pissa_niter_K or olora (LoftQ, EVA, CorDA are not built).
    static func loraInit(_ value: RecipeValue, _ key: String) throws -> LoRAInit {
        switch value {
        case let .bool(flag): return flag ? .kaiming : .linearDefault
        case let .string(text):
            switch text.lowercased() {
            case "true", "yes": return .kaiming
            case "false", "no": return .linearDefault
            case let name:
                if let kind = LoRAInit(name: name) { return kind }
                if let problem = LoRAInit.niterProblem(name) { throw TrainingError.invalidValue(key: key, problem: problem) }
            }
        default: break
        }
        throw TrainingError.invalidValue(key: key,
                                         problem: "must be true (kaiming-uniform A, zero B), gaussian (normal A, zero B), false (no LoRA init), pissa (A, B from the SVD of W, W adjusted), pissa_niter_K (the same from a randomized SVD with K power iterations) or olora (from the QR of W); got \(value). LoftQ, EVA and CorDA are not implemented")
    }

    /// loss_type / pref_loss: one of the built losses, or a list of them (DPO's, summed with loss_weights).
    static func preferenceLosses(_ value: RecipeValue, _ key: String) throws -> [PreferenceSettings.Loss] {
        let names: [String]
        if case .list = value { names = try value.list(key) } else { names = [try value.text(key)] }
        guard !names.isEmpty else { throw TrainingError.invalidValue(key: key, problem: "names no loss") }
        let known = PreferenceSettings.Loss.allCases.map(\.rawValue)
        let losses = try names.map { name -> PreferenceSettings.Loss in
            if let loss = PreferenceSettings.Loss(rawValue: name) { return loss }
            if PreferenceSettings.notBuiltLosses.contains(name) {
                throw TrainingError.notImplemented("\(key): \(name) (Tailor computes the \(RecipeValue.wordList(known)) losses)")
            }
            throw TrainingError.invalidValue(key: key, problem: "must be one of \(RecipeValue.wordList(known)) (got '\(name)')")
        }
        if losses.count > 1, let alone = losses.first(where: { $0.dpo == nil }) {
            throw TrainingError.invalidValue(key: key, problem: "\(alone.rawValue) is an objective of its own; only DPO's losses combine (got \(names))")
        }
        return losses
    }

    /// stage: sft, pt, dpo and kto train; the reward and RL stages are refused as not built.
    static func stage(_ value: RecipeValue, _ key: String) throws -> TrainRecipe.Stage {
        let name = try value.text(key)
        if let stage = TrainRecipe.Stage(rawValue: name) { return stage }
        if ["rm", "ppo", "orpo", "simpo"].contains(name) {
            throw TrainingError.notImplemented("\(key): \(name) (reward-model and RL training; Tailor trains stage sft, pt, dpo or kto; ORPO and SimPO are stage dpo's loss_type orpo / simpo)")
        }
        throw TrainingError.invalidValue(key: key, problem: "must be sft, pt, dpo or kto (got '\(name)'); rm and ppo are not built yet")
    }

}
