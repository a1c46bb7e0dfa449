import TailorTensor

/// Errors of the model layer. Each names the file, field or tensor and says what to do.
public enum ModelError: Error, CustomStringConvertible {
    /// config.json names an architecture Tailor does not implement.
    case unsupportedArchitecture(String, file: String, supported: [String])
    /// A config.json field is missing or has a value Tailor cannot use.
    case badConfig(file: String, field: String, problem: String)
    /// A weight the architecture needs is not in the checkpoint.
    case missingWeight(name: String, source: String, expectedShape: [Int])
    /// A weight has another shape than the config implies.
    case weightShapeMismatch(name: String, source: String, expected: [Int], got: [Int])
    /// A weight has a dtype Tailor cannot compute with.
    case unsupportedWeightDType(name: String, source: String, dtype: String)
    /// The model folder or file could not be read.
    case unreadable(path: String, reason: String)
    /// A batch does not fit the model (token ids, positions, sequence layout).
    case badBatch(String)
    /// A preset name that does not exist.
    case unknownPreset(String, known: [String])
    /// An error from the tensor layer, with the step it happened in.
    case tensor(TensorError, during: String)
    /// A 4-bit (bitsandbytes) weight, or the quantization settings, that cannot be used; `problem` says what to do.
    case quantization(name: String, source: String, problem: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(name, file, supported):
            return "\(file): architecture '\(name)' is not supported; supported: \(supported.joined(separator: ", "))"
        case let .badConfig(file, field, problem):
            return "\(file): field '\(field)' \(problem)"
        case let .missingWeight(name, source, shape):
            return "\(source): weight '\(name)' (shape \(shape)) is missing; is this checkpoint for the architecture in config.json?"
        case let .weightShapeMismatch(name, source, expected, got):
            return "\(source): weight '\(name)' has shape \(got) but config.json implies \(expected); config.json and the weights disagree"
        case let .unsupportedWeightDType(name, source, dtype):
            return "\(source): weight '\(name)' has dtype \(dtype); supported: F32, BF16, F16"
        case let .unreadable(path, reason):
            return "\(path): \(reason)"
        case let .badBatch(message):
            return "bad batch: \(message)"
        case let .unknownPreset(name, known):
            return "unknown preset '\(name)'; known presets: \(known.joined(separator: ", "))"
        case let .tensor(error, during):
            return "\(during): \(error)"
        case let .quantization(name, source, problem):
            return "\(source): \(name): \(problem)"
        }
    }
}
