import TailorAdapters
import TailorModels

/// Errors of the inference layer. Each names the parameter, file or token and says what to do.
public enum InferenceError: Error, CustomStringConvertible {
    /// A generation parameter has a value transformers would also reject (`top_p` 0, negative temperature ...).
    case badParameter(name: String, value: String, problem: String)
    /// A generation_config.json field could not be read.
    case badGenerationConfig(file: String, field: String, problem: String)
    /// A prompt does not fit the model's context with room for the new tokens.
    case promptTooLong(index: Int, tokens: Int, maxNewTokens: Int, limit: Int)
    /// A prompt with no tokens.
    case emptyPrompt(index: Int)
    /// An adapter name that was never loaded.
    case unknownAdapter(String, loaded: [String])
    /// The model folder lacks something generation needs (tokenizer, chat template).
    case missingFile(path: String, purpose: String)
    /// A chat template failed to render.
    case template(String)
    /// An error from the model layer, with the step it happened in.
    case model(ModelError, during: String)
    /// Adapters could not be switched or combined for a step (e.g. per-row adapters with full tensors).
    case adapter(AdapterError)
    /// The model's logits for new token `step` (1 = the first) of prompt `sequence` were NaN or infinite.
    case nonFiniteLogits(sequence: Int, step: Int, value: Double)

    public var description: String {
        switch self {
        case let .badParameter(name, value, problem):
            return "generation parameter '\(name)' = \(value) \(problem)"
        case let .badGenerationConfig(file, field, problem):
            return "\(file): field '\(field)' \(problem)"
        case let .promptTooLong(index, tokens, maxNewTokens, limit):
            return "prompt \(index) has \(tokens) tokens; with max_new_tokens \(maxNewTokens) it exceeds the model's context of \(limit) (max_position_embeddings); shorten it, lower max_new_tokens, or truncate the prompt (--truncate)"
        case let .emptyPrompt(index):
            return "prompt \(index) has no tokens; give at least one token (e.g. the BOS token)"
        case let .unknownAdapter(name, loaded):
            return "no adapter named '\(name)' is loaded; loaded: \(loaded.isEmpty ? "none" : loaded.joined(separator: ", "))"
        case let .missingFile(path, purpose):
            return "\(path) is missing; it is needed \(purpose)"
        case let .template(message):
            return "chat template: \(message)"
        case let .model(error, during):
            return "\(during): \(error)"
        case let .adapter(error):
            return "adapters: \(error)"
        case let .nonFiniteLogits(sequence, step, value):
            return "the model's logits became \(value) at new token \(step) of prompt \(sequence), so no token can be chosen; the weights (or the adapter) hold NaN/inf or overflow in this precision: check them, or try f32 weights"
        }
    }
}
