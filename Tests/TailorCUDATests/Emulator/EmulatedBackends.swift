import TailorCUDA
import TailorTensor
import XCTest

/// The CUDA backend on the host emulator, and the CPU reference it is compared with.
struct EmulatedBackends {
    let device: EmulatedDevice
    let cuda: CUDABackend
    let reference: CPUBackend

    /// Skips the test, saying why, when the host has no C++ compiler for the kernels.
    init(matmul: CUDABackend.MatmulPrecision = .fp32) throws {
        do {
            device = try EmulatedDevice.make()
        } catch EmulatedDevice.EmulatorError.noCompiler {
            throw XCTSkip("skipped: no clang++ on PATH to compile the CUDA kernels for the host emulator")
        }
        cuda = try CUDABackend(device: device, matmul: matmul)
        reference = try CPUBackend(kernels: .reference)
    }
}
