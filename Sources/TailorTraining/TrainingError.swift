/// Errors of the training layer. Each names the option, file or tensor and says what to do.
public enum TrainingError: Error, CustomStringConvertible {
    /// An option value that cannot be used.
    case badOption(name: String, problem: String)
    /// A tensor of a checkpoint or output folder is missing or mis-shaped (adapters' own files: `AdapterError`).
    case adapterWeight(name: String, file: String, problem: String)
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
        case let .adapterWeight(name, file, problem):
            return "\(file): adapter weight '\(name)' \(problem)"
        case let .notImplemented(what):
            return "\(what) is not implemented in Tailor yet"
        case let .nonFiniteLoss(step, value):
            return "the loss became \(value) at step \(step); lower the learning rate or check the data"
        case let .tokenOutOfVocabulary(sample, field, id, vocabSize):
            return "\(sample): \(field) is \(id), outside the model's vocabulary (vocab_size \(vocabSize): ids 0 to \(vocabSize - 1)); was the data tokenized with another model's tokenizer?"
        }
    }
}
