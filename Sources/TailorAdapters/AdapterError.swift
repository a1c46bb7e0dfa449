/// Errors of the adapter layer: making, attaching, switching, reading and writing adapters.
/// Each names the option, file, field or tensor and says what to do.
public enum AdapterError: Error, CustomStringConvertible {
    /// A LoRA setting or an adapter name that cannot be used (`name` is the peft / recipe key).
    case badOption(name: String, problem: String)
    /// target_modules (with layers_to_transform) picked no module of the model (`available`: its Linear modules).
    case noTargetModules(TargetModules, available: [String])
    /// A name in a target_modules list matches no Linear module of the model (`available`).
    case targetModuleNotFound(name: String, targets: TargetModules, available: [String])
    /// An adapter tensor is missing or mis-shaped in a file.
    case adapterWeight(name: String, file: String, problem: String)
    /// An adapter_config.json field is missing, malformed, or asks for something Tailor does not implement.
    case adapterConfig(file: String, field: String?, problem: String)
    /// An adapter name that was never added to a `LoRAAdapterSet`.
    case unknownAdapter(String, loaded: [String])

    public var description: String {
        switch self {
        case let .badOption(name, problem):
            return "option '\(name)' \(problem)"
        case let .noTargetModules(targets, available):
            let hint: String
            if case .regex = targets {
                hint = "; a string target_modules is a regular expression that must match a module's whole name, as in peft"
                    + " (such as \(available.first ?? "model.layers.0.self_attn.q_proj")), e.g. '.*\\.(q_proj|v_proj)'"
            } else {
                hint = ""
            }
            return "target modules \(targets) not found in the base model (as peft says it): no Linear module matches"
                + " them\(hint). Check target_modules (and layers_to_transform) and try again; this model's Linear modules"
                + " are: \(Self.shortNames(available))"
        case let .targetModuleNotFound(name, targets, available):
            return "target_modules \(targets) names '\(name)', which matches no Linear module of this model (a name matches a"
                + " module whose name is it or ends with '.\(name)'). Fix or remove it; this model's Linear modules are:"
                + " \(Self.shortNames(available))"
        case let .adapterWeight(name, file, problem):
            return "\(file): adapter weight '\(name)' \(problem)"
        case let .adapterConfig(file, field, problem):
            return field.map { "\(file): field '\($0)' \(problem)" } ?? "\(file) \(problem)"
        case let .unknownAdapter(name, loaded):
            return "no adapter is named '\(name)'; the adapters are: \(loaded.isEmpty ? "(none)" : loaded.joined(separator: ", "))"
        }
    }

    /// Module names as target_modules names them, each once: `self_attn.q_proj, mlp.down_proj, ...`.
    static func shortNames(_ modules: [String]) -> String {
        Set(modules.map { $0.split(separator: ".").suffix(2).joined(separator: ".") }).sorted().joined(separator: ", ")
    }
}
