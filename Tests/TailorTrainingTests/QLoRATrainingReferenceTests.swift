import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// 20 QLoRA steps against transformers.Trainer + peft + bitsandbytes 0.50.2 on the CPU
/// (scripts/reference/make_qlora_fixtures.py): the tiny Llama in NF4 with double quantization, fp32
/// compute, after prepare_model_for_kbit_training; LoRA settings, data and initial adapter as the LoRA
/// reference run. bitsandbytes itself trained the reference (no dequantized stand-in).
final class QLoRATrainingReferenceTests: XCTestCase {
    func check(model folder: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let (logs, adapters) = try PeftTrainerFixture.loraRun(family: "llama-qlora", modelFolder: folder, backend: backend)
        XCTAssertEqual(adapters.modules.count, 14, file: file, line: line)
        let reference = try SafetensorsFile(url: TestPaths.fixture("lora/llama-qlora/reference.safetensors"))
        let loss = try reference.floats("loss"), norm = try reference.floats("grad_norm")
        XCTAssertEqual(logs.count, 20, file: file, line: line)
        for (step, log) in logs.enumerated() {
            // Trainer logs losses rounded to 4 decimals: 6e-5 absolute is ~1e-5 relative at these losses (~5).
            XCTAssertEqual(log.loss, Double(loss[step]), accuracy: max(6e-5, 1e-4 * Double(loss[step])), "loss at step \(step + 1)",
                           file: file, line: line)
            XCTAssertEqual(log.gradNorm, Double(norm[step]), accuracy: 1e-4 * Double(norm[step]), "grad norm at step \(step + 1)",
                           file: file, line: line)
        }
        for module in adapters.modules {
            for (name, tensor) in [(module.lora.aName, module.lora.a), (module.lora.bName, module.lora.b)] {
                assertClose(try backend.download(tensor), try reference.floats("final." + name), rtol: 1e-4, atol: 1e-5,
                            "final \(name)", file: file, line: line)
            }
        }
    }

    /// The folder transformers + bitsandbytes saved, loaded as it is (quantizing the f32 folder while
    /// loading gives the same codes: FourBitModelTests).
    func testSavedFourBitFolderTrainsLikePeftAndBitsandbytes() throws {
        try check(model: TestPaths.fixture("qlora/nf4-dq"))
    }

    /// With bf16 products (the dequantized weights and the activations rounded to bf16, f32 accumulation and
    /// outputs; LoRA factors f32) the 20 steps stay within 1% of bitsandbytes' fp32-compute run. (Without bf16
    /// products on this CPU the products run in fp32 and the check is the one above, loosened.)
    func testBF16ProductsStayWithinOnePercentOfTheFP32Run() throws {
        let backend = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        let (logs, _) = try PeftTrainerFixture.loraRun(family: "llama-qlora", modelFolder: TestPaths.fixture("qlora/nf4-dq"), backend: backend)
        let loss = try SafetensorsFile(url: TestPaths.fixture("lora/llama-qlora/reference.safetensors")).floats("loss")
        XCTAssertEqual(logs.count, 20)
        for (step, log) in logs.enumerated() {
            XCTAssertEqual(log.loss, Double(loss[step]), accuracy: 0.01 * Double(loss[step]), "loss at step \(step + 1)")
        }
    }

    /// bitsandbytes with bnb_4bit_compute_dtype=torch.bfloat16 (lora/llama-qlora-bf16) rounds each 4-bit linear's
    /// output to bf16, where Tailor's bf16 products keep the f32 sums: on this tiny random model (large logits) that
    /// moves the base model's loss by 0.6% at step 1, and the 20 steps then drift apart by up to 7% (Tailor stays
    /// within 0.1% of the fp32 run; docs/qlora.md). Checked here: the first step, before any update.
    func testBitsandbytesBF16ComputeAtTheFirstStep() throws {
        let backend = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        let (logs, _) = try PeftTrainerFixture.loraRun(family: "llama-qlora-bf16", modelFolder: TestPaths.fixture("qlora/nf4-dq"), backend: backend)
        let loss = try SafetensorsFile(url: TestPaths.fixture("lora/llama-qlora-bf16/reference.safetensors")).floats("loss")
        XCTAssertEqual(logs[0].loss, Double(loss[0]), accuracy: 0.01 * Double(loss[0]))
    }

}
