import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's P-tuning against transformers.Trainer + peft 0.21.2
/// (scripts/reference/make_prompt_learning_fixtures.py): 10 steps from peft's encoder on the tiny
/// llama and qwen2, with the MLP encoder (P 4, H 16; P 3, H 24) and the LSTM one (P 4, H 8, two
/// layers; P 3, H 6, one layer): every step's loss and gradient norm, the trained encoder tensors,
/// the table peft saves and the trained logits.
final class PTuningReferenceTests: XCTestCase {
    static let steps = 10

    struct Case: AdapterFixtureCase {
        let name: String
        let family: String
        let p: Int
        let h: Int
        var encoder = PTuning.Encoder.mlp
        var folder: URL { TestPaths.fixture("prompt-learning/\(name)") }
    }

    func run(_ test: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let initial = try SafetensorsFile(url: test.folder.appendingPathComponent("encoder-init.safetensors"))
        let encoder = try PTuning.make(for: model, numVirtualTokens: test.p, encoderHiddenSize: test.h, encoder: test.encoder) { name, _ in
            try initial.floats(name)
        }
        try encoder.attach(to: model)
        let reference = try test.reference()
        try Self.assertTrainsAsPeft(encoder, model: model, fixture: test.folder, reference: reference, label: test.name, file: file, line: line)
        assertClose(try backend.download(encoder.table), try test.file("final").floats(PromptTuning.tensorName), rtol: 1e-4, atol: 1e-5,
                    "\(test.name): the table peft saves", file: file, line: line)
        // The table is within 1e-4 of peft's: the logits within 1e-4 of their largest (near-zero ones carry that absolute error).
        let expected = try reference.floats("logits")
        let logits = try backend.download(model.logits(try test.firstSample()))
        assertClose(logits, expected, rtol: 1e-4, atol: 1e-4 * (expected.map(abs).max() ?? 1), "\(test.name) trained logits",
                    file: file, line: line)

        // Tailor's folder is peft's: the table under prompt_embeddings, read back as prompt tuning for generation.
        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> for scripts/peers/check_prompt_learning.py.
        let output = PeftTrainerFixture.outputFolder(case: test.name), written = output.url
        defer { if !output.kept { try? FileManager.default.removeItem(at: written) } }
        try PromptTuningWriter.write(encoder, model: model, to: written, baseModel: test.family)
        try PeftTrainerFixture.assertFolderMatchesPeft(output, peft: try test.file("final"), logits: logits, vocab: model.config.vocabSize,
                                                       label: test.name, file: file, line: line)
        let config = try String(contentsOf: written.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"peft_type\": \"P_TUNING\"") && config.contains("\"encoder_hidden_size\": \(test.h)")
                      && config.contains("\"encoder_reparameterization_type\": \"\(test.encoder.peftName)\"")
                      && config.contains("\"encoder_num_layers\": \(test.encoder.layerCount)"), config, file: file, line: line)
        let reread = try PromptTuningFolder.load(folder: written, for: try CausalLM.load(folder: test.modelFolder, backend: backend))
        XCTAssertEqual(try backend.download(reread.table), try backend.download(encoder.table), file: file, line: line)
    }

    func testPTuningOnLlama() throws {
        try run(Case(name: "ptuning-llama", family: "llama", p: 4, h: 16))
    }

    func testPTuningOnQwen2() throws {
        try run(Case(name: "ptuning-qwen2", family: "qwen2", p: 3, h: 24))
    }

    func testLSTMPTuningOnLlama() throws {
        try run(Case(name: "ptuning-lstm-llama", family: "llama", p: 4, h: 8, encoder: .lstm(layers: 2)))
    }

    func testLSTMPTuningOnQwen2() throws {
        try run(Case(name: "ptuning-lstm-qwen2", family: "qwen2", p: 3, h: 6, encoder: .lstm(layers: 1)))
    }

    /// The encoder's tensors, count and weight-decay group as peft's (encoder-init.safetensors, the
    /// fixture's metadata); 10 steps from peft's start with every loss and gradient norm as Trainer's;
    /// the trained tensors as encoder-final.safetensors.
    static func assertTrainsAsPeft(_ encoder: any VirtualTokenEncoder, model: CausalLM, fixture folder: URL, reference: SafetensorsFile,
                                   label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = model.backend
        let initial = try SafetensorsFile(url: folder.appendingPathComponent("encoder-init.safetensors"))
        let trained = try SafetensorsFile(url: folder.appendingPathComponent("encoder-final.safetensors"))
        XCTAssertEqual(Set(encoder.tensors.map(\.name)), Set(initial.tensorNames), file: file, line: line)
        XCTAssertEqual(encoder.parameterCount, Int(try XCTUnwrap(reference.metadata["trainable"])),
                       "\(label): trainable parameters as peft's print_trainable_parameters", file: file, line: line)
        // Trainer's weight-decay group, as the fixture recorded it.
        let decayed = try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(reference.metadata["decay"]).utf8)) as? [String] ?? []
        XCTAssertEqual(Set(encoder.parameters.filter(\.weightDecay).map { PTuning.peftName($0.name) }), Set(decayed), file: file, line: line)

        let batches = try PeftTrainerFixture.microBatches(folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-2, warmupSteps: 1, totalSteps: steps)
        let runner = try StepRunner(model: model, parameters: encoder.parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try runner.train(encoder: encoder)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: steps,
                                                       label: label, file: file, line: line)
        for tensor in encoder.tensors {
            assertClose(try backend.download(tensor.value), try trained.floats(tensor.name), rtol: 1e-4, atol: 1e-5,
                        "\(label) final \(tensor.name)", file: file, line: line)
        }
    }

    /// The MLP encoder's backward against central differences of the loss through the model.
    func testEncoderGradientMatchesFiniteDifferences() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        try Self.checkGradients(try PTuning.make(for: model, numVirtualTokens: 3, encoderHiddenSize: 8, seed: 4), model: model)
    }

    /// Each encoder tensor's largest gradient element (its six largest with `everyTensor`) against
    /// central differences of the loss through the model, `step` either side (small where ReLU kinks lie near).
    static func checkGradients(_ encoder: any VirtualTokenEncoder, model: CausalLM, everyTensor: Bool = false, step h: Float = 1e-2,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = model.backend
        try encoder.attach(to: model)
        let batch = try TokenBatch(sequences: [([5, 9, 14, 3, 21], [-100, 9, 14, 3, 21]), ([8, 2, 30], [-100, 2, 30])])
        let gradients = GradientStore()
        for parameter in encoder.parameters { try gradients.add(parameter.name, shape: parameter.value.shape, backend: backend) }
        for output in encoder.outputGradients { try gradients.add(output.name, shape: output.shape, backend: backend) }
        _ = try model.forwardBackward(batch, gradients: gradients)
        try encoder.backward(gradients: gradients, backend: backend)
        func loss() throws -> Double {
            try encoder.refresh(backend: backend)
            let result = try model.loss(batch)
            return result.lossSum / Double(result.labelCount)
        }
        for tensor in encoder.tensors {
            let grad = try backend.download(try XCTUnwrap(gradients[tensor.name]))
            var values = try backend.download(tensor.value)
            let largest = grad.indices.sorted { abs(grad[$0]) > abs(grad[$1]) }
            for k in largest.prefix(everyTensor ? 6 : 1) {
                let original = values[k]
                values[k] = original + h
                try backend.copy(try backend.upload(values, shape: tensor.value.shape, dtype: .f32), into: tensor.value)
                let up = try loss()
                values[k] = original - h
                try backend.copy(try backend.upload(values, shape: tensor.value.shape, dtype: .f32), into: tensor.value)
                let down = try loss()
                values[k] = original
                try backend.copy(try backend.upload(values, shape: tensor.value.shape, dtype: .f32), into: tensor.value)
                let numeric = (up - down) / (2 * Double(h))
                XCTAssertEqual(Double(grad[k]), numeric, accuracy: 2e-2 * abs(numeric) + 1e-6 / Double(h), "\(tensor.name)[\(k)]",
                               file: file, line: line)
            }
        }
        try encoder.refresh(backend: backend)
    }
}
