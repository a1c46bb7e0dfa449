import Foundation
import TailorJSON

/// How to generate, with the meanings and defaults of transformers' `GenerationConfig`
/// (field names in generation_config.json in parentheses).
///
/// Load a model's defaults with `init(generationConfig:)` and override fields afterwards;
/// `validate()` rejects what transformers rejects.
public struct GenerationParameters: Sendable, Equatable {
    /// New tokens at most (`max_new_tokens`). Default 256.
    public var maxNewTokens: Int = 256
    /// End-of-sequence ids are suppressed until this many new tokens exist (`min_new_tokens`). Default 0.
    public var minNewTokens: Int = 0
    /// Sample from the processed distribution; false = greedy (`do_sample`). Default false.
    public var doSample: Bool = false
    /// Divides the logits when sampling (`temperature`). Default 1.0 (no change).
    public var temperature: Double = 1.0
    /// Keep the k most likely tokens when sampling; 0 = off (`top_k`). Default 50, as in transformers.
    public var topK: Int = 50
    /// Keep the smallest set of tokens whose probability reaches p when sampling (`top_p`). Default 1.0 (off).
    public var topP: Double = 1.0
    /// Drop tokens less likely than min_p × the top token's probability when sampling (`min_p`). Default nil (off).
    public var minP: Double?
    /// transformers' multiplicative penalty on every token of the prompt and the output
    /// (`repetition_penalty`): logit / p when positive, logit × p when negative. Default 1.0 (off).
    public var repetitionPenalty: Double = 1.0
    /// Ban any n-gram of this size from occurring twice (`no_repeat_ngram_size`). Default 0 (off).
    public var noRepeatNgramSize: Int = 0
    /// Ids that end a sequence (`eos_token_id`, one id or a list); the id is kept in the output.
    public var eosTokenIds: [Int32] = []
    /// Strings that end a sequence when the generated text contains one ending in the newest
    /// token (`stop_strings`); needs a tokenizer.
    public var stopStrings: [String] = []
    /// Seed of the sampler; nil = seeded from the clock. Default nil.
    public var seed: UInt64?
    /// Tailor's: drop the start of a prompt that does not fit the context with `maxNewTokens`
    /// (instead of an error). Default false.
    public var truncatePrompt: Bool = false

    public init() {}

    /// Reads generation_config.json (missing fields keep their defaults).
    /// - Throws: `InferenceError.badGenerationConfig` naming the field.
    public init(generationConfig url: URL) throws {
        self.init()
        let file = url.path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw InferenceError.badGenerationConfig(file: file, field: "(file)", problem: "cannot be read")
        }
        let root: JSONObject
        do {
            guard let object = try JSONValue(parsing: [UInt8](data), file: file).objectValue else {
                throw InferenceError.badGenerationConfig(file: file, field: "(file)", problem: "is not a JSON object")
            }
            root = object
        } catch let error as JSONError {
            throw InferenceError.badGenerationConfig(file: file, field: "(file)", problem: "is \(error.detail)")
        }
        func present(_ field: String) -> JSONValue? {
            guard let value = root[field], !value.isNull else { return nil }
            return value
        }
        func number(_ field: String) throws -> Double? {
            guard let value = present(field) else { return nil }
            guard let n = value.doubleValue else {
                throw InferenceError.badGenerationConfig(file: file, field: field, problem: "must be a number")
            }
            return n
        }
        func integer(_ field: String) throws -> Int? {
            guard let value = present(field) else { return nil }
            guard let n = value.integralValue else {
                // A whole number too large for Int (1e20, 99999999999999999999) is named as such: generation stops
                // at the model's context (max_position_embeddings) anyway, so no useful count is that large.
                if let d = value.doubleValue, d.rounded() == d {
                    throw InferenceError.badGenerationConfig(file: file, field: field, problem:
                        "is \(d), beyond the largest count Tailor accepts (\(Int.max)); generation stops at the model's context "
                        + "(max_position_embeddings) anyway, so give a value up to that")
                }
                throw InferenceError.badGenerationConfig(file: file, field: field, problem: "must be an integer")
            }
            return n
        }
        if let value = present("do_sample") {
            guard let flag = value.boolValue else {
                throw InferenceError.badGenerationConfig(file: file, field: "do_sample", problem: "must be true or false")
            }
            doSample = flag
        }
        if let v = try number("temperature") { temperature = v }
        if let v = try integer("top_k") { topK = v }
        if let v = try number("top_p") { topP = v }
        if let v = try number("min_p") { minP = v }
        if let v = try number("repetition_penalty") { repetitionPenalty = v }
        if let v = try integer("no_repeat_ngram_size") { noRepeatNgramSize = v }
        if let v = try integer("max_new_tokens") { maxNewTokens = v }
        if let v = try integer("min_new_tokens") { minNewTokens = v }
        if let value = present("eos_token_id") {
            guard let ids = value.arrayValue(of: { $0.integer(as: Int32.self) }) ?? value.integer(as: Int32.self).map({ [$0] }) else {
                throw InferenceError.badGenerationConfig(file: file, field: "eos_token_id", problem: "must be an integer or a list of integers")
            }
            eosTokenIds = ids
        }
        if let value = present("stop_strings") {
            guard let strings = value.arrayValue(of: \.stringValue) ?? value.stringValue.map({ [$0] }) else {
                throw InferenceError.badGenerationConfig(file: file, field: "stop_strings", problem: "must be a string or a list of strings")
            }
            stopStrings = strings
        }
        try validate()
    }

    /// Checks every value as transformers does.
    /// - Throws: `InferenceError.badParameter` naming the parameter.
    public func validate() throws {
        func bad(_ name: String, _ value: Any, _ problem: String) -> InferenceError {
            .badParameter(name: name, value: "\(value)", problem: problem)
        }
        guard maxNewTokens > 0 else { throw bad("max_new_tokens", maxNewTokens, "must be a positive integer") }
        guard minNewTokens >= 0 else { throw bad("min_new_tokens", minNewTokens, "must be 0 or more") }
        guard temperature > 0, temperature.isFinite else {
            throw bad("temperature", temperature, "must be a strictly positive number; for greedy decoding set do_sample false (--greedy)")
        }
        guard topK >= 0 else { throw bad("top_k", topK, "must be 0 (off) or a positive integer") }
        guard topP > 0, topP <= 1 else { throw bad("top_p", topP, "must be in (0, 1]; 1 turns it off") }
        if let minP { guard minP >= 0, minP <= 1 else { throw bad("min_p", minP, "must be in [0, 1]") } }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw bad("repetition_penalty", repetitionPenalty, "must be a strictly positive number; 1 turns it off")
        }
        guard noRepeatNgramSize >= 0 else { throw bad("no_repeat_ngram_size", noRepeatNgramSize, "must be 0 (off) or a positive integer") }
        for stop in stopStrings where stop.isEmpty { throw bad("stop_strings", "\"\"", "must not contain an empty string") }
    }

    /// Sets one parameter from its transformers name and a text value ("temperature", "0.5"),
    /// as `/params` in `tailor chat` does.
    /// - Throws: `InferenceError.badParameter` for an unknown name or a value of the wrong type.
    public mutating func set(_ name: String, to text: String) throws {
        func double() throws -> Double {
            guard let v = Double(text) else { throw InferenceError.badParameter(name: name, value: text, problem: "must be a number") }
            return v
        }
        func int() throws -> Int {
            guard let v = Int(text) else { throw InferenceError.badParameter(name: name, value: text, problem: "must be an integer") }
            return v
        }
        switch name {
        case "temperature": temperature = try double()
        case "top_k": topK = try int()
        case "top_p": topP = try double()
        case "min_p": minP = text == "none" ? nil : try double()
        case "repetition_penalty": repetitionPenalty = try double()
        case "no_repeat_ngram_size": noRepeatNgramSize = try int()
        case "max_new_tokens": maxNewTokens = try int()
        case "min_new_tokens": minNewTokens = try int()
        case "seed":
            guard let v = UInt64(text) else {
                throw InferenceError.badParameter(name: name, value: text, problem: "must be an integer from 0 to \(UInt64.max)")
            }
            seed = v
        case "do_sample":
            guard let v = Bool(text) else { throw InferenceError.badParameter(name: name, value: text, problem: "must be true or false") }
            doSample = v
        default:
            throw InferenceError.badParameter(name: name, value: text, problem: "is not a known parameter; known: temperature, top_k, top_p, min_p, repetition_penalty, no_repeat_ngram_size, max_new_tokens, min_new_tokens, seed, do_sample")
        }
    }

    /// The parameters as `name=value` pairs (for `/params` and logs).
    public var summary: String {
        var parts = ["do_sample=\(doSample)", "max_new_tokens=\(maxNewTokens)"]
        if doSample {
            parts += ["temperature=\(temperature)", "top_k=\(topK)", "top_p=\(topP)"]
            if let minP { parts.append("min_p=\(minP)") }
        }
        if repetitionPenalty != 1 { parts.append("repetition_penalty=\(repetitionPenalty)") }
        if noRepeatNgramSize > 0 { parts.append("no_repeat_ngram_size=\(noRepeatNgramSize)") }
        if let seed { parts.append("seed=\(seed)") }
        return parts.joined(separator: " ")
    }
}
