import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// SGD against torch.optim.SGD and against transformers.Trainer with optim="sgd"
/// (scripts/reference/make_optim_fixtures.py).
final class SGDReferenceTests: XCTestCase {
    /// Four steps per case at changing learning rates: momentum with and without Nesterov,
    /// dampening, weight decay, and plain SGD; the parameter and momentum buffer after each step.
    func testSGDStepsEqualTorch() throws {
        let file = try SafetensorsFile(url: TestPaths.fixture("optim/sgd.safetensors"))
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["cases"]).utf8)) as? [[String: Any]])
        let lrs = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["lrs"]).utf8)) as? [Double])
        XCTAssertEqual(cases.count, 4)
        for kernels in [CPUBackend.Kernels.reference, .fast] {
            let cpu = try CPUBackend(kernels: kernels)
            for (index, settings) in cases.enumerated() {
                let momentum = try XCTUnwrap(settings["momentum"] as? Double)
                let initial = try file.floats("case\(index).param")
                let param = try cpu.upload(initial, shape: [initial.count], dtype: .f32)  // [257]
                let parameter = TrainableParameter(name: "w", value: param, weightDecay: true)
                let sgd = try SGD(parameters: [parameter], backend: cpu, momentum: momentum,
                                  dampening: try XCTUnwrap(settings["dampening"] as? Double),
                                  nesterov: try XCTUnwrap(settings["nesterov"] as? Bool),
                                  weightDecay: try XCTUnwrap(settings["weight_decay"] as? Double))
                XCTAssertTrue(sgd.stateTensors().isEmpty, "no buffer before the first step")
                let gradients = GradientStore()
                try gradients.add("w", shape: [initial.count], backend: cpu)
                for (step, lr) in lrs.enumerated() {
                    let grad = try cpu.upload(try file.floats("case\(index).grad\(step)"), shape: [initial.count], dtype: .f32)
                    try cpu.copy(grad, into: try XCTUnwrap(gradients["w"]))
                    try sgd.step(gradients: gradients, lr: lr)
                    let label = "\(kernels) case \(index) \(settings) step \(step)"
                    assertClose(try cpu.download(param), try file.floats("case\(index).param\(step)"), rtol: 1e-6, atol: 1e-7, label)
                    let state = sgd.stateTensors()
                    if momentum == 0 {
                        XCTAssertTrue(state.isEmpty, "momentum 0 keeps no state: \(label)")
                    } else {
                        XCTAssertEqual(state.map(\.name), ["momentum_buffer.w"])
                        assertClose(try cpu.download(state[0].tensor), try file.floats("case\(index).buffer\(step)"),
                                    rtol: 1e-6, atol: 1e-7, "buffer \(label)")
                    }
                    XCTAssertEqual(try cpu.download(try XCTUnwrap(gradients["w"])), try cpu.download(grad), "the gradient is not modified")
                }
                XCTAssertEqual(sgd.stepCount, lrs.count)
            }
        }
    }

    /// The tiny tied Llama, every parameter trained for 5 steps with optim sgd,
    /// optim_args "momentum=0.9,nesterov=True" and weight decay 0.1 on Trainer's decay group.
    func testFullFineTuningWithSGDMatchesTrainer() throws {
        try Self.assertFullFineTuningWithSGDMatchesTrainer(objective: SFTObjective())
    }

    /// Trainer's 5 SGD steps of the tiny tied Llama (optim/sgd-trainer) run with `objective`:
    /// every step's lr, loss and grad norm, and every final parameter.
    static func assertFullFineTuningWithSGDMatchesTrainer(objective: TrainingObjective,
                                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = TestPaths.fixture("optim/sgd-trainer")
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama-tied"), backend: backend)
        let parameters = try FullFineTuning.prepare(model)
        var args = TrainingArguments()
        args.optim = .sgd
        args.optimArgs = "momentum=0.9,nesterov=True"
        args.weightDecay = 0.1
        let optimizer = try args.makeOptimizer(parameters: parameters, backend: backend)
        XCTAssertEqual(optimizer.kind, "sgd", file: file, line: line)
        let runner = try StepRunner(model: model, optimizer: optimizer,
                                    schedule: LRSchedule(kind: .linear, baseLR: 0.05, warmupSteps: 1, totalSteps: 5), maxGradNorm: 1)
        runner.objective = objective
        let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        let batches = try PeftTrainerFixture.microBatches(folder)
        // The learning rates are read back as f32, hence 1e-7 relative.
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: 5, lrTolerance: 1e-7,
                                                       file: file, line: line)
        for parameter in parameters {
            assertClose(try backend.download(parameter.value), try reference.floats("final." + parameter.name), rtol: 1e-4, atol: 1e-5,
                        "final \(parameter.name)", file: file, line: line)
        }
    }

    func assertRefused(_ change: (inout TrainingArguments) -> Void, mentions words: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        var args = TrainingArguments()
        change(&args)
        XCTAssertThrowsError(try args.validate(), file: file, line: line) { error in
            for word in words { XCTAssertTrue("\(error)".contains(word), "'\(word)' not in: \(error)", file: file, line: line) }
        }
    }

    func testBadSGDSettingsAreErrorsNamingTheKey() throws {
        func sgd(_ optimArgs: String?) -> (inout TrainingArguments) -> Void {
            { $0.optim = .sgd; $0.optimArgs = optimArgs }
        }
        assertRefused(sgd("momentum=-0.1"), mentions: ["optim_args", "momentum", "-0.1"])
        assertRefused(sgd("nesterov=True"), mentions: ["nesterov", "momentum above 0"])
        assertRefused(sgd("momentum=0.9,dampening=0.1,nesterov=true"), mentions: ["nesterov", "dampening 0"])
        assertRefused(sgd("momentum=fast"), mentions: ["'momentum'", "number", "fast"])
        assertRefused(sgd("nesterov=maybe"), mentions: ["'nesterov'", "maybe"])
        assertRefused(sgd("betas=0.9"), mentions: ["'betas'", "momentum, dampening, nesterov"])
        assertRefused(sgd("momentum"), mentions: ["optim_args", "key=value"])
        assertRefused(sgd("momentum=0.9,"), mentions: ["optim_args", "key=value"])
        assertRefused(sgd("weight_decay=0.1"), mentions: ["'weight_decay'", "set weight_decay"])
        assertRefused({ $0.optim = .sgd; $0.weightDecay = -1 }, mentions: ["weight_decay", "-1"])
        assertRefused({ $0.optimArgs = "momentum=0.9" }, mentions: ["optim_args", "sgd", "adamw_torch"])
        var fine = TrainingArguments()
        fine.optim = .sgd
        fine.optimArgs = " momentum = 0.9 , dampening=0, nesterov=YES "
        XCTAssertNoThrow(try fine.validate())
        XCTAssertEqual(try SGDSettings(optimArgs: fine.optimArgs), SGDSettings(momentum: 0.9, dampening: 0, nesterov: true))
        fine.optimArgs = ""
        XCTAssertNoThrow(try fine.validate(), "an empty optim_args is no settings, as in transformers")
    }
}
