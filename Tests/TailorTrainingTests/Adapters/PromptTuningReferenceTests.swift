import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's prompt tuning against transformers.Trainer + peft 0.21.2
/// (scripts/reference/make_prompt_learning_fixtures.py): 10 steps from peft's random table on the
/// tiny llama (P 4) and qwen2 (P 3), then the trained table, the trainable count peft prints, the
/// logits, Tailor's folder, and peft's folder read back.
final class PromptTuningReferenceTests: XCTestCase {
    static let steps = 10

    struct Case: AdapterFixtureCase {
        let name: String
        let family: String
        var folder: URL { TestPaths.fixture("prompt-learning/\(name)") }
    }

    static let llama = Case(name: "prompt-llama", family: "llama")
    static let qwen2 = Case(name: "prompt-qwen2", family: "qwen2")

    func run(_ test: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let prompt = try PromptTuningFolder.load(folder: test.folder.appendingPathComponent("init"), for: model)
        try prompt.attach(to: model)
        let reference = try test.reference(), initial = try test.file("init"), final = try test.file("final")
        XCTAssertEqual(initial.tensorNames, [PromptTuning.tensorName], file: file, line: line)
        XCTAssertEqual(try backend.download(prompt.table), try initial.floats(PromptTuning.tensorName), file: file, line: line)
        XCTAssertEqual(prompt.parameterCount, Int(try XCTUnwrap(reference.metadata["trainable"])),
                       "\(test.name): trainable parameters as peft's print_trainable_parameters", file: file, line: line)

        let parameters = [TrainableParameter(name: VirtualTokens.gradientName, value: prompt.table, weightDecay: true)]
        let batches = try PeftTrainerFixture.microBatches(test.folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-2, warmupSteps: 1, totalSteps: Self.steps)
        let runner = try StepRunner(model: model, parameters: parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: Self.steps,
                                                       label: test.name, file: file, line: line)
        assertClose(try backend.download(prompt.table), try final.floats(PromptTuning.tensorName), rtol: 1e-4, atol: 1e-5,
                    "\(test.name) final prompt_embeddings", file: file, line: line)
        let first = try test.firstSample()
        let logits = try backend.download(model.logits(first))
        XCTAssertEqual(logits.count, first.tokenCount * model.config.vocabSize, "logits of the sample's own tokens only", file: file, line: line)
        assertClose(logits, try reference.floats("logits"), rtol: 1e-4, atol: 1e-5, "\(test.name) trained logits", file: file, line: line)

        // Tailor's folder holds what peft's holds and reads back the same table.
        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> for scripts/peers/check_prompt_learning.py.
        let output = PeftTrainerFixture.outputFolder(case: test.name), written = output.url
        defer { if !output.kept { try? FileManager.default.removeItem(at: written) } }
        try PromptTuningWriter.write(prompt, model: model, to: written, baseModel: test.family)
        try PeftTrainerFixture.assertFolderMatchesPeft(output, peft: final, logits: logits, vocab: model.config.vocabSize,
                                                       label: test.name, file: file, line: line)
        XCTAssertTrue(PromptTuningFolder.isPromptTuning(folder: written), file: file, line: line)
        let reread = try PromptTuningFolder.load(folder: written, for: base)
        XCTAssertEqual(reread.config, prompt.config, file: file, line: line)
        XCTAssertEqual(try backend.download(reread.table), try backend.download(prompt.table), file: file, line: line)

        // peft's trained folder, read by Tailor, computes peft's logits; detached, the base is back.
        let baseLogits = try backend.download(base.logits(first))
        let loaded = try PromptTuningFolder.load(folder: test.folder.appendingPathComponent("final"), for: base)
        try loaded.attach(to: base)
        assertClose(try backend.download(base.logits(first)), try reference.floats("logits"), rtol: 1e-4, atol: 1e-5,
                    "\(test.name) peft's folder in Tailor", file: file, line: line)
        try loaded.detach(from: base)
        XCTAssertEqual(try backend.download(base.logits(first)), baseLogits, "\(test.name): detached = base", file: file, line: line)
    }

    func testPromptTuningOnLlama() throws {
        try run(Self.llama)
    }

    func testPromptTuningOnQwen2() throws {
        try run(Self.qwen2)
    }

    /// The virtual tokens come before every sequence as peft puts them: logits equal those of the
    /// table's rows laid in front as plain inputs would be (the same positions, the same masking),
    /// each packed sequence of a batch taking its own copy.
    func testVirtualTokensComeBeforeEverySequence() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: Self.llama.modelFolder, backend: backend)
        let prompt = try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 3, initialization: .sampleVocab), seed: 5)
        try prompt.attach(to: model)
        let one: [Int32] = [4, 9, 17, 30], two: [Int32] = [8, 2, 55]
        let alone = try backend.download(model.logits(try TokenBatch(sequences: [(one, one.map { _ in -100 })])))
        let packed = try backend.download(model.logits(try TokenBatch(sequences: [(one, one.map { _ in -100 }), (two, two.map { _ in -100 })])))
        let vocab = model.config.vocabSize
        assertClose(Array(packed[..<(one.count * vocab)]), alone, rtol: 1e-4, atol: 1e-5, "the first sequence as alone")
        let second = try backend.download(model.logits(try TokenBatch(sequences: [(two, two.map { _ in -100 })])))
        assertClose(Array(packed[(one.count * vocab)...]), second, rtol: 1e-4, atol: 1e-5, "the second sequence gets its own virtual tokens")
        // The same rows as real tokens: SAMPLE_VOCAB copied embed_tokens rows, so the ids it drew reproduce them.
        let table = try backend.download(prompt.table), embed = try backend.download(model.embedTokens)
        let c = model.config.hiddenSize
        func row(_ values: [Float], _ index: Int) -> [Float] { Array(values[(index * c)..<((index + 1) * c)]) }
        var drawn: [Int32] = []
        for index in 0..<3 {
            let id = (0..<vocab).first { row(embed, $0) == row(table, index) } ?? -1
            drawn.append(Int32(id))
        }
        XCTAssertFalse(drawn.contains(-1), "SAMPLE_VOCAB starts from rows of embed_tokens")
        try prompt.detach(from: model)
        let plain = try backend.download(model.logits(try TokenBatch(sequences: [(drawn + one, (drawn + one).map { _ in -100 })])))
        assertClose(alone, Array(plain[(3 * vocab)...]), rtol: 1e-4, atol: 1e-5, "virtual tokens = those rows as tokens at positions 0..<P")
    }

    /// What peft refuses, and a prefix as long as the context, are clear errors.
    func testBadSettings() throws {
        let model = try CausalLM.load(folder: Self.llama.modelFolder, backend: try CPUBackend())
        XCTAssertThrowsError(try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 0))) {
            XCTAssertTrue("\($0)".contains("num_virtual_tokens") && "\($0)".contains("at least 1"), "\($0)")
        }
        XCTAssertThrowsError(try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 128))) {
            XCTAssertTrue("\($0)".contains("max_position_embeddings) is 128"), "\($0)")
        }
        XCTAssertThrowsError(try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 4, initialization: .text("hi")),
                                                   initTokenIds: [3, 500])) {
            XCTAssertTrue("\($0)".contains("token id 500, outside this model's vocabulary of 96"), "\($0)")
        }
        // With virtual tokens attached, the ids above the vocabulary are still refused from callers.
        let attached = try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 4))
        try attached.attach(to: model)
        XCTAssertThrowsError(try model.logits(try TokenBatch(sequences: [([3, 97], [-100, -100])]))) {
            XCTAssertTrue("\($0)".contains("id 97, outside the vocabulary 0..<96"), "\($0)")
        }
        let cache = try KVCache(config: model.config, slots: 1, capacity: 8, backend: model.backend)
        XCTAssertThrowsError(try model.decode(ids: [96], slots: [0], logitRows: [0], cache: cache)) {
            XCTAssertTrue("\($0)".contains("id 96, outside the vocabulary"), "\($0)")
        }
        try attached.detach(from: model)
        // TEXT: the text's tokens cut or repeated to P, as peft does.
        let text = try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 5, initialization: .text("hi")), initTokenIds: [7, 11])
        let table = try model.backend.download(text.table), embed = try model.backend.download(model.embedTokens)
        let c = model.config.hiddenSize
        for (row, id) in [7, 11, 7, 11, 7].enumerated() {
            XCTAssertEqual(Array(table[(row * c)..<((row + 1) * c)]), Array(embed[(id * c)..<((id + 1) * c)]), "row \(row) is token \(id)'s embedding")
        }
    }
}
