import ArgumentParser
import Foundation
import TailorCUDA
import TailorInference
import TailorTensor
import TailorTraining

/// `--device auto|cpu|cuda` and `--matmul`: which backend a command computes on, and how its
/// products with bf16 weights run.
struct DeviceOptions: ParsableArguments {
    @Option(help: "Where to compute: cpu (OpenBLAS), cuda (an NVIDIA GPU: the driver, cuBLAS and NVRTC are loaded at run time), or auto (cuda when a GPU is usable, else cpu, saying why).")
    var device: TrainRecipe.Device = .cpu

    @Option(name: [.customLong("matmul"), .customLong("cuda-matmul")],
            help: "How products with bf16 weights run: bf16 (activations rounded to bf16, f32 accumulation, as peft's bf16 runs: cuBLAS on cuda; on the CPU oneDNN's AMX or AVX512-BF16 kernels, with an f32 folder's linears rounded to bf16 at load as autocast rounds them, or fp32 where the CPU has neither) or fp32 (weights widened: the reference numbers). --cuda-matmul is the old name.")
    var matmul: MatmulPrecision = .halfInputs

    /// The backend, and a note for stderr when `auto` fell back to the CPU. `batchInvariant`: a
    /// generating command's CPU products, each row's numbers independent of the batch
    /// (`CPUBackend.batchInvariant`).
    func backend(batchInvariant: Bool = false) throws -> (backend: any Backend, note: String?) {
        try Self.backend(device, matmul: matmul, batchInvariant: batchInvariant)
    }

    static func backend(_ device: TrainRecipe.Device, matmul: MatmulPrecision,
                        batchInvariant: Bool = false) throws -> (backend: any Backend, note: String?) {
        let choice = try TrainingBackend.choose(device, matmul: matmul, batchInvariant: batchInvariant, accelerator: cuda(matmul))
        return (choice.backend, choice.note)
    }

    /// The backend a recipe's device and bf16 ask for (bf16: products with bf16 weights take
    /// bf16 activations, on cuda and on a CPU with bf16 products).
    static func trainingBackend(_ device: TrainRecipe.Device, bf16: Bool) throws -> TrainingBackend {
        let matmul: MatmulPrecision = bf16 ? .halfInputs : .fp32
        return try TrainingBackend.choose(device, matmul: matmul, accelerator: cuda(matmul))
    }

    /// An inference command's model: with bf16 products on the CPU, an f32 folder's product
    /// weights rounded to bf16 once as they load (`TrainingBackend.productRounding`: what
    /// training with `bf16: true` multiplies, and autocast), saying so on stderr; as stored otherwise.
    static func inferenceModel(folder: URL, backend: any Backend) throws -> InferenceModel {
        let loaded = try InferenceModel(folder: folder, backend: backend, rounding: TrainingBackend.productRounding(for: backend))
        let rounded = loaded.model.roundedProductWeights
        if rounded > 0 {
            printError("products: bf16 (\(rounded) f32 product weights rounded to bf16 at load; --matmul fp32 multiplies the file's values)")
        }
        return loaded
    }

    /// "products bf16, batch-invariant" (or "products bf16", "products fp32") for a CPU backend: how its
    /// products with bf16 weights run and whether a row's numbers are independent of its batch; nil on a GPU.
    static func productsNote(_ backend: any Backend) -> String? {
        guard let cpu = backend as? CPUBackend else { return nil }
        return "products \(cpu.matmul.rawValue)" + (cpu.batchInvariant ? ", batch-invariant" : "")
    }

    /// Makes the CUDA backend on the first GPU, for `TrainingBackend.choose`.
    static func cuda(_ matmul: CUDABackend.MatmulPrecision) -> () throws -> any Backend {
        { try CUDABackend(device: try DriverDevice(), matmul: matmul) }
    }

    /// "peak GPU memory 1.23 GB (1.50 GB reserved)" for a CUDA backend: what its tensors needed at
    /// most, and what the caching allocator held; nil on the CPU, whose summary gives peak RSS.
    static func deviceMemoryReport(_ backend: any Backend) -> String? {
        guard let cuda = backend as? CUDABackend else { return nil }
        let gigabytes = { (bytes: Int) in fmt(Double(bytes) / 1e9, 2) + " GB" }
        return "peak GPU memory \(gigabytes(cuda.allocator.peakAllocatedBytes)) (\(gigabytes(cuda.allocator.peakReservedBytes)) reserved)"
    }
}

extension MatmulPrecision: ExpressibleByArgument {}
extension TrainRecipe.Device: ExpressibleByArgument {}
