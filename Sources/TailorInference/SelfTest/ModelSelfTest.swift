import TailorAdapters
import TailorModels
import TailorTensor

/// Whole-model checks for `tailor selftest`: a tiny random Llama-family model (grouped-query
/// heads, a qwen2 attention bias, tied and untied heads) built from one seed on the backend under
/// test and on the CPU reference, compared on
/// - logits of a packed batch of three sequences (rtol 1e-4),
/// - the loss and every LoRA gradient (A and B of all linear modules, B non-zero) (rtol 1e-4),
/// - 16 greedy tokens through the KV cache, which must be the same tokens.
/// Run with the backend in its fp32 mode; the bf16 mode's accuracy is the training comparison's subject.
public enum ModelSelfTest {
    public static let tolerance = BackendSelfTest.Tolerance(atol: 1e-5, rtol: 1e-4)

    struct Case {
        let name: String
        let config: ModelConfig
    }

    static let cases = [
        Case(name: "llama GQA 4/2", config: ModelConfig(architecture: .llama, vocabSize: 97, hiddenSize: 64, intermediateSize: 96,
                                                         layerCount: 2, headCount: 4, kvHeadCount: 2, maxPositionEmbeddings: 128)),
        Case(name: "qwen2 tied, qkv bias", config: ModelConfig(architecture: .qwen2, vocabSize: 131, hiddenSize: 48, intermediateSize: 80,
                                                               layerCount: 2, headCount: 3, kvHeadCount: 1, maxPositionEmbeddings: 128,
                                                               tieWordEmbeddings: true)),
    ]

    /// The checks, each computing its values on a backend.
    public static func checks() -> [BackendSelfTest.Check] {
        cases.flatMap { c -> [BackendSelfTest.Check] in
            [
                BackendSelfTest.Check("model \(c.name): logits of a packed batch", tolerance: tolerance) { backend in
                    let model = try CausalLM.random(config: c.config, backend: backend, seed: 11)
                    return try backend.download(model.logits(batch(vocab: c.config.vocabSize)))
                },
                BackendSelfTest.Check("model \(c.name): loss and LoRA gradients", tolerance: tolerance) { backend in
                    let model = try CausalLM.random(config: c.config, backend: backend, seed: 11)
                    var rng = SplitMix64(state: 5)
                    let adapters = try LoRAAdapters.attach(
                        to: model, config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear), seed: 3,
                        initial: { _, shape in (0..<shape.reduce(1, *)).map { _ in (rng.nextFloat() - 0.5) * 0.2 } })
                    let gradients = GradientStore()
                    for tensor in adapters.trainableTensors { try gradients.add(tensor.name, shape: tensor.value.shape, backend: backend) }
                    let result = try model.forwardBackward(batch(vocab: c.config.vocabSize), gradients: gradients)
                    var values = [Float(result.lossSum / Double(max(result.labelCount, 1)))]
                    for name in gradients.names { values += try backend.download(gradients[name]!) }
                    return values
                },
                BackendSelfTest.Check("model \(c.name): 16 greedy tokens with the KV cache", tolerance: .exact) { backend in
                    let model = try CausalLM.random(config: c.config, backend: backend, seed: 11)
                    var parameters = GenerationParameters()
                    parameters.maxNewTokens = 16
                    let prompts: [[Int32]] = [[1, 5, 9, 2, 7], [3, 3, 8]]
                    let results = try Generator(model: model).generate(prompts: prompts, parameters: parameters)
                    return results.flatMap { $0.tokens.map(Float.init) }
                },
            ]
        }
    }

    /// Three sequences of 13, 1 and 22 tokens with labels (a masked prompt in the first).
    static func batch(vocab: Int) throws -> TokenBatch {
        var rng = SplitMix64(state: 99)
        func ids(_ count: Int) -> [Int32] { (0..<count).map { _ in Int32(rng.next() % UInt64(vocab)) } }  // allowed: below vocab_size, a positive Int
        let first = ids(13), second = ids(1), third = ids(22)
        return try TokenBatch(sequences: [
            (first, Array(repeating: -100, count: 4) + Array(first[4...])), (second, second), (third, third),
        ])
    }
}
