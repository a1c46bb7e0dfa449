import TailorModels
import TailorTensor

/// Errors of the training layer. Each names the option, file or tensor and says what to do.
public enum TrainingError: Error, CustomStringConvertible {
    /// An option value that cannot be used.
    case badOption(name: String, problem: String)
    /// target_modules matched no module of the model.
    case noTargetModules(TargetModules, available: [String])
    /// An adapter tensor is missing or mis-shaped in a file.
    case adapterWeight(name: String, file: String, problem: String)
    /// An adapter_config.json field is missing, malformed, or asks for something Tailor does not implement.
    case adapterConfig(file: String, field: String?, problem: String)
    /// An adapter name that was never added to a `LoRAAdapterSet`.
    case unknownAdapter(String, loaded: [String])
    /// A feature that exists in peft/transformers but not in Tailor yet.
    case notImplemented(String)
    /// The loss became NaN or infinite.
    case nonFiniteLoss(step: Int, value: Double)
    /// A token id or label of a sample is outside the model's vocabulary. `sample` names the data
    /// file and line (or the row when the sample was made in code), `field` the position
    /// (`input_ids[7]`, `labels[7]`).
    case tokenOutOfVocabulary(sample: String, field: String, id: Int32, vocabSize: Int)

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
        case let .notImplemented(what):
            return "\(what) is not implemented in Tailor yet"
        case let .nonFiniteLoss(step, value):
            return "the loss became \(value) at step \(step); lower the learning rate or check the data"
        case let .tokenOutOfVocabulary(sample, field, id, vocabSize):
            return "\(sample): \(field) is \(id), outside the model's vocabulary (vocab_size \(vocabSize): ids 0 to \(vocabSize - 1)); was the data tokenized with another model's tokenizer?"
        }
    }
}
