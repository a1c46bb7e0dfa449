/// Errors of the adapter layer: making, attaching, switching, reading and writing adapters.
/// Each names the option, file, field or tensor and says what to do.
public enum AdapterError: Error, CustomStringConvertible {
    /// A LoRA setting or an adapter name that cannot be used (`name` is the peft / recipe key).
    case badOption(name: String, problem: String)
    /// target_modules matched no module of the model.
    case noTargetModules(TargetModules, available: [String])
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
            let names = Set(available.map { $0.split(separator: ".").suffix(2).joined(separator: ".") }).sorted()
            return "target_modules \(targets) matches no module of this model; its linear layers are: \(names.joined(separator: ", "))"
        case let .adapterWeight(name, file, problem):
            return "\(file): adapter weight '\(name)' \(problem)"
        case let .adapterConfig(file, field, problem):
            return field.map { "\(file): field '\($0)' \(problem)" } ?? "\(file) \(problem)"
        case let .unknownAdapter(name, loaded):
            return "no adapter is named '\(name)'; the adapters are: \(loaded.isEmpty ? "(none)" : loaded.joined(separator: ", "))"
        }
    }
}
