/// Built-in configurations of real models, for benchmarks that need no download
/// (values from each model's config.json on the Hugging Face hub).
public enum ModelPresets {
    public static let all: [String: ModelConfig] = [
        "smollm2-135m": ModelConfig(
            architecture: .llama, vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30,
            headCount: 9, kvHeadCount: 3, rmsNormEps: 1e-5, ropeTheta: 100_000, maxPositionEmbeddings: 8192,
            tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2]),
        "qwen2.5-0.5b": ModelConfig(
            architecture: .qwen2, vocabSize: 151_936, hiddenSize: 896, intermediateSize: 4864, layerCount: 24,
            headCount: 14, kvHeadCount: 2, rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxPositionEmbeddings: 32768,
            tieWordEmbeddings: true, bosTokenId: 151_643, eosTokenIds: [151_645]),
        "qwen2.5-1.5b": ModelConfig(
            architecture: .qwen2, vocabSize: 151_936, hiddenSize: 1536, intermediateSize: 8960, layerCount: 28,
            headCount: 12, kvHeadCount: 2, rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxPositionEmbeddings: 32768,
            tieWordEmbeddings: true, bosTokenId: 151_643, eosTokenIds: [151_645]),
        // Qwen2.5-7B-Instruct's config.json: untied output layer, 4 kv heads.
        "qwen2.5-7b": ModelConfig(
            architecture: .qwen2, vocabSize: 152_064, hiddenSize: 3584, intermediateSize: 18944, layerCount: 28,
            headCount: 28, kvHeadCount: 4, rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxPositionEmbeddings: 32768,
            tieWordEmbeddings: false, bosTokenId: 151_643, eosTokenIds: [151_645]),
    ]

    /// Preset names, sorted.
    public static var names: [String] { all.keys.sorted() }

    public static func config(named name: String) throws -> ModelConfig {
        guard let config = all[name] else { throw ModelError.unknownPreset(name, known: names) }
        return config
    }
}
