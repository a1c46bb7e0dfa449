import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's prefix tuning against transformers.Trainer + peft 0.21.2
/// (scripts/reference/make_prompt_learning_fixtures.py): 10 steps from peft's random prefix on the
/// tiny llama (P 4) and qwen2 (P 5; both grouped-query, 2 key/value heads), then the trained table,
/// the trainable count, the logits, Tailor's folder and peft's folder read back; and the same with
/// prefix_projection (qwen2 P 3, H 16; llama P 4, H 12): the encoder trained, the table it computes
/// saved as peft saves it and peft's folder read for inference.
final class PrefixTuningReferenceTests: XCTestCase {
    static let steps = 10

    struct Case: AdapterFixtureCase {
        let name: String
        let family: String
        var folder: URL { TestPaths.fixture("prompt-learning/\(name)") }
    }

    func run(_ test: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let prefix = try PrefixTuningFolder.load(folder: test.folder.appendingPathComponent("init"), for: model)
        try prefix.attach(to: model)
        let reference = try test.reference(), initial = try test.file("init"), final = try test.file("final")
        XCTAssertEqual(try prefix.peftTable(backend: backend), try initial.floats(PrefixTuning.tensorName), "peft's layout read and laid back",
                       file: file, line: line)
        XCTAssertEqual(prefix.parameterCount, Int(try XCTUnwrap(reference.metadata["trainable"])),
                       "\(test.name): trainable parameters as peft's print_trainable_parameters", file: file, line: line)

        let parameters = prefix.trainableTensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: true) }
        let batches = try PeftTrainerFixture.microBatches(test.folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-2, warmupSteps: 1, totalSteps: Self.steps)
        let runner = try StepRunner(model: model, parameters: parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: Self.steps,
                                                       label: test.name, file: file, line: line)
        assertClose(try prefix.peftTable(backend: backend), try final.floats(PrefixTuning.tensorName), rtol: 1e-4, atol: 1e-5,
                    "\(test.name) final prompt_embeddings", file: file, line: line)
        let first = try test.firstSample()
        let logits = try backend.download(model.logits(first))
        assertClose(logits, try reference.floats("logits"), rtol: 1e-4, atol: 1e-5, "\(test.name) trained logits", file: file, line: line)

        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> for scripts/peers/check_prompt_learning.py.
        let output = PeftTrainerFixture.outputFolder(case: test.name), written = output.url
        defer { if !output.kept { try? FileManager.default.removeItem(at: written) } }
        try PrefixTuningWriter.write(prefix, model: model, to: written, baseModel: test.family)
        try PeftTrainerFixture.assertFolderMatchesPeft(output, peft: final, logits: logits, vocab: model.config.vocabSize,
                                                       label: test.name, file: file, line: line)
        let reread = try PrefixTuningFolder.load(folder: written, for: base)
        XCTAssertEqual(try reread.peftTable(backend: backend), try prefix.peftTable(backend: backend), file: file, line: line)

        let baseLogits = try backend.download(base.logits(first))
        try checkPeftsFolder(test, on: base, baseLogits: baseLogits, file: file, line: line)
    }

    /// peft's trained folder, read by Tailor, computes peft's logits; detached, the base is back.
    func checkPeftsFolder(_ test: Case, on base: CausalLM, baseLogits: [Float], file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = base.backend
        let loaded = try PrefixTuningFolder.load(folder: test.folder.appendingPathComponent("final"), for: base)
        try loaded.attach(to: base)
        let first = try test.firstSample()
        assertClose(try backend.download(base.logits(first)), try test.reference().floats("logits"), rtol: 1e-4, atol: 1e-5,
                    "\(test.name) peft's folder in Tailor", file: file, line: line)
        try loaded.detach(from: base)
        XCTAssertEqual(try backend.download(base.logits(first)), baseLogits, "\(test.name): detached = base", file: file, line: line)
    }

    func testPrefixTuningOnLlama() throws {
        try run(Case(name: "prefix-llama", family: "llama"))
    }

    func testPrefixTuningOnQwen2() throws {
        try run(Case(name: "prefix-qwen2-plain", family: "qwen2"))
    }

    /// prefix_projection: peft's PrefixEncoder (Embedding, Linear, Tanh, Linear) trains; its output
    /// is the prefix the model reads, and the folder holds that output.
    func runProjected(_ test: Case, h: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let initial = try SafetensorsFile(url: test.folder.appendingPathComponent("encoder-init.safetensors"))
        let reference = try test.reference(), final = try test.file("final")
        let p = try XCTUnwrap(initial.info("embedding.weight")?.shape.first)
        let encoder = try PrefixProjection.make(for: model, numVirtualTokens: p, encoderHiddenSize: h) { name, _ in try initial.floats(name) }
        try encoder.attach(to: model)
        try PTuningReferenceTests.assertTrainsAsPeft(encoder, model: model, fixture: test.folder, reference: reference, label: test.name,
                                                     file: file, line: line)
        assertClose(try encoder.prefix.peftTable(backend: backend), try final.floats(PrefixTuning.tensorName), rtol: 1e-4, atol: 1e-5,
                    "\(test.name): the table peft saves", file: file, line: line)
        let first = try test.firstSample()
        let logits = try backend.download(model.logits(first))
        assertClose(logits, try reference.floats("logits"), rtol: 1e-4, atol: 1e-5, "\(test.name) trained logits", file: file, line: line)

        let output = PeftTrainerFixture.outputFolder(case: test.name), written = output.url
        defer { if !output.kept { try? FileManager.default.removeItem(at: written) } }
        try encoder.write(model: model, to: written, baseModel: test.family, revision: nil)
        try PeftTrainerFixture.assertFolderMatchesPeft(output, peft: final, logits: logits, vocab: model.config.vocabSize,
                                                       label: test.name, file: file, line: line)
        let config = try String(contentsOf: written.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"prefix_projection\": true") && config.contains("\"encoder_hidden_size\": \(h)"), config,
                      file: file, line: line)
        let baseLogits = try backend.download(base.logits(first))
        try checkPeftsFolder(test, on: base, baseLogits: baseLogits, file: file, line: line)
    }

    func testProjectedPrefixTuningOnQwen2() throws {
        try runProjected(Case(name: "prefix-qwen2", family: "qwen2"), h: 16)
    }

    func testProjectedPrefixTuningOnLlama() throws {
        try runProjected(Case(name: "prefix-llama-projected", family: "llama"), h: 12)
    }

    /// The projection's backward (from every layer's key and value gradients) against central differences.
    func testProjectionGradientMatchesFiniteDifferences() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: try CPUBackend())
        try PTuningReferenceTests.checkGradients(try PrefixProjection.make(for: model, numVirtualTokens: 3, encoderHiddenSize: 7, seed: 2),
                                                 model: model, everyTensor: true)
    }

    /// The virtual tokens' keys and values replace theirs after the rotary embedding: the prefix
    /// does not depend on where the virtual tokens would sit, and a sequence packed second gets its own copy.
    func testEachPackedSequenceGetsThePrefix() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let prefix = try PrefixTuning.make(for: model, numVirtualTokens: 3, seed: 9)
        try prefix.attach(to: model)
        let one: [Int32] = [4, 9, 17, 30], two: [Int32] = [8, 2, 55]
        func logits(_ sequences: [[Int32]]) throws -> [Float] {
            try backend.download(model.logits(try TokenBatch(sequences: sequences.map { ($0, $0.map { _ in -100 }) })))
        }
        let packed = try logits([one, two]), vocab = model.config.vocabSize
        assertClose(Array(packed[..<(one.count * vocab)]), try logits([one]), rtol: 1e-4, atol: 1e-5, "the first sequence as alone")
        assertClose(Array(packed[(one.count * vocab)...]), try logits([two]), rtol: 1e-4, atol: 1e-5, "the second gets its own prefix")
        try prefix.detach(from: model)
        XCTAssertGreaterThan(zip(try logits([two]), Array(packed[(one.count * vocab)...])).map { abs($0 - $1) }.max() ?? 0, 1e-3,
                             "the prefix changes what the model computes")
    }
}
