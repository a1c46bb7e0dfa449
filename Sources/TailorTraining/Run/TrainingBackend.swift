import TailorModels
import TailorTensor

/// The backend a run computes on, chosen from a recipe's `device`. TailorTraining links only the
/// CPU backend; a program that has a GPU backend passes a function that makes it (the tailor CLI
/// passes TailorCUDA's), so the choice itself is the same in every program.
public struct TrainingBackend {
    public let backend: any Backend
    /// True when `backend` is the GPU one `choose` was given.
    public let isAccelerator: Bool
    /// Why `auto` computes on the CPU, when it fell back.
    public let note: String?

    public init(backend: any Backend, isAccelerator: Bool, note: String? = nil) {
        self.backend = backend
        self.isAccelerator = isAccelerator
        self.note = note
    }

    /// cpu: the fast CPU backend; cuda: `accelerator()`; auto: `accelerator()`, or the CPU when
    /// it throws or the program has none (`note` says why). `matmul` is how the CPU backend runs
    /// products with bf16 weights (bf16 products where the CPU has them, else fp32);
    /// `batchInvariant` asks the CPU backend for batch-invariant products (`CPUBackend.batchInvariant`).
    /// - Throws: `TrainingError.invalidValue` for `device: cuda` in a program without a GPU
    ///   backend; the accelerator's error when it cannot start.
    public static func choose(_ device: TrainRecipe.Device, matmul: MatmulPrecision = .fp32, batchInvariant: Bool = false,
                              accelerator: (() throws -> any Backend)?) throws -> TrainingBackend {
        let cpu = { try CPUBackend(kernels: .fast, matmul: matmul, batchInvariant: batchInvariant) }
        switch device {
        case .cpu:
            return TrainingBackend(backend: try cpu(), isAccelerator: false)
        case .cuda:
            guard let accelerator else {
                throw TrainingError.invalidValue(key: "device", problem: "is cuda, but this program has no GPU backend; use device cpu or auto")
            }
            return TrainingBackend(backend: try accelerator(), isAccelerator: true)
        case .auto:
            guard let accelerator else {
                return TrainingBackend(backend: try cpu(), isAccelerator: false,
                                       note: "--device auto: using the CPU (this program has no GPU backend)")
            }
            do {
                return TrainingBackend(backend: try accelerator(), isAccelerator: true)
            } catch {
                return TrainingBackend(backend: try cpu(), isAccelerator: false,
                                       note: "--device auto: using the CPU (\(error))")
            }
        }
    }

    /// How training keeps the MLP's gate/up activations: bf16 on a GPU in bf16 mode (as bf16
    /// training does: half the bytes), f32 otherwise (the CPU computes and keeps f32).
    public func savedActivationDType(bf16: Bool) -> DType {
        bf16 && isAccelerator ? .bf16 : .f32
    }

    /// How a model loads for `backend`'s products: with bf16 products on the CPU
    /// (`MatmulPrecision.halfInputs` granted), an f32 folder's frozen product weights rounded to
    /// bf16 once (`ProductWeightRounding`, keeping `keep`), as autocast rounds them at every
    /// product; else nil, the weights as stored (the CUDA backend multiplies f32 weights in fp32,
    /// not measured on a GPU yet). Training (`TrainingRun`) and the inference commands ask this one rule.
    public static func productRounding(for backend: any Backend, keep: [String] = []) -> ProductWeightRounding? {
        guard let cpu = backend as? CPUBackend, cpu.matmul == .halfInputs else { return nil }
        return ProductWeightRounding(dtype: .bf16, keep: keep)
    }
}
