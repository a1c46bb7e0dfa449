import TailorTensor
import XCTest

/// The fast CPU backend with bf16 products and batch-invariant products (what `tailor generate` and
/// `tailor serve` run), or XCTSkip saying why this machine has none (no AVX512-BF16, or no oneDNN).
public func batchInvariantBF16Backend() throws -> CPUBackend {
    let backend = try CPUBackend(kernels: .fast, matmul: .halfInputs, batchInvariant: true)
    guard backend.batchInvariant else {
        throw XCTSkip("batch-invariant bf16 products need AVX512-BF16 and oneDNN: \(backend.matmulFallback?.reason ?? "no AVX512-BF16 here")")
    }
    return backend
}
