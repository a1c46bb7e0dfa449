import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// `writeMerged` into a 4-bit base (the tiny Llama that transformers + bitsandbytes saved in nf4 with double
/// quantization, and in fp4): each weight is bitsandbytes' dequantization plus the LoRA update, written in
/// the asked dtype, and the folder is an ordinary model folder whose logits are the adapted 4-bit model's.
final class QLoRAMergeTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-qlora-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// The llama LoRA fixture's starting adapter with every B random (its own B is 0, which would merge nothing).
    func adapters(for model: CausalLM, seed: UInt64) throws -> LoRAAdapters {
        let adapters = try PeftAdapterFolder.load(folder: TestPaths.fixture("lora/llama/init"), for: model)
        var rng = SeededRandom(seed: seed)
        for module in adapters.modules {
            let b = module.lora.b
            try model.backend.copy(try model.backend.upload(rng.floats(b.count, scale: 0.1), shape: b.shape, dtype: .f32), into: b)
        }
        return adapters
    }

    func testMergedFolderIsTheAdaptedFourBitModel() throws {
        let backend = try CPUBackend()
        let batch = try TokenBatch(sequences: [(ids: [3, 14, 15, 9, 2, 6, 53, 5], labels: [Int32](repeating: -100, count: 8))])
        for variant in ["nf4-dq", "fp4"] {
            let base = TestPaths.fixture("qlora/\(variant)")
            let model = try CausalLM.load(folder: base, backend: backend)
            let quantized = model.namedParameters.filter { $0.tensor.dtype.isBlockQuantized }
            XCTAssertEqual(quantized.count, 14, "\(variant): 7 linears × 2 layers are 4-bit")
            let adapters = try adapters(for: model, seed: 7)
            try adapters.attach(to: model)
            let expected = try backend.download(model.logits(batch))   // [8, 96]
            let byModule = Dictionary(uniqueKeysWithValues: adapters.modules.map { ($0.name, $0.lora) })
            for dtype in [DType.f32, .bf16] {
                let output = root.appendingPathComponent("\(variant)-\(dtype)")
                try adapters.writeMerged(model, baseFolder: base, to: output, dequantizedDType: dtype)
                let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any])
                XCTAssertNil(config["quantization_config"], "\(variant) \(dtype): the merged folder is not 4-bit")
                XCTAssertEqual(config["dtype"] as? String, dtype.torchName)
                let file = try SafetensorsFile(url: output.appendingPathComponent("model.safetensors"))
                XCTAssertFalse(file.tensorNames.contains { $0.contains("absmax") || $0.contains("quant_") }, "\(file.tensorNames)")
                // Each 4-bit weight is bnb's dequantization (code · absmax in f32) plus scaling · B·A, narrowed to dtype.
                for (name, tensor) in quantized {
                    XCTAssertEqual(file.info(name)?.dtype, dtype == .f32 ? .f32 : .bf16, name)
                    var want = try backend.download(tensor)   // the dequantized weight [out, in]
                    let module = String(name.dropLast(".weight".count))
                    if let lora = byModule[module] {
                        let a = try backend.download(lora.a), b = try backend.download(lora.b)
                        let (out, inner, r) = (tensor.shape[0], tensor.shape[1], lora.a.shape[0])
                        for o in 0..<out {
                            for i in 0..<inner {
                                var sum: Float = 0
                                for k in 0..<r { sum += b[o * r + k] * a[k * inner + i] }
                                want[o * inner + i] += lora.scaling * sum
                            }
                        }
                    }
                    let got = try file.floats(name)
                    let tolerance: Float = dtype == .f32 ? 1e-6 : 8e-3   // f32: GEMM order; bf16: one rounding
                    assertClose(got, want, rtol: tolerance, atol: 1e-7, "\(variant) \(dtype) \(name)")
                }
                let merged = try CausalLM.load(folder: output, backend: backend)
                XCTAssertFalse(merged.namedParameters.contains { $0.tensor.dtype.isBlockQuantized })
                let logits = try backend.download(merged.logits(batch))
                if dtype == .f32 {
                    assertClose(logits, expected, rtol: 1e-5, atol: 1e-5, "\(variant): merged logits are the adapted 4-bit model's")
                } else {
                    // bf16 rounds each weight by up to 2^-9 of itself: the logits move by about a percent of their range.
                    let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? 0, range = expected.map(abs).max() ?? 1
                    XCTAssertLessThan(worst, 0.02 * range, "\(variant) bf16: logits move by bf16's rounding of the weights only")
                }
            }
        }
    }
}
