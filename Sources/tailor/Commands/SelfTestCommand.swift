import ArgumentParser
import TailorCUDA
import TailorInference
import TailorTensor

/// `tailor selftest`: every backend op and a tiny model against the CPU reference kernels, on the
/// machine it runs on (the GPU machines have no Swift toolchain, so these checks ship in the binary).
struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check a backend against the CPU reference kernels: every op forward and backward, a tiny model's logits, LoRA gradients and greedy tokens. Exits non-zero on any failure.",
        discussion: """
        --device cpu checks the fast CPU kernels (OpenBLAS, SIMD, threads), then, where the CPU has bf16 products (oneDNN on \
        AMX or AVX512-BF16), the products with bf16 weights in that mode: against the fp32 reference (|Δ| ≤ 4e-3·√K + 1e-2·|ref|) \
        and against the reference that rounds the activations to bf16 as the mode does (f32 tolerance). --device cuda checks the \
        CUDA backend on GPU 0 in its fp32 matmul mode (tolerance |Δ| ≤ 1e-5 + 1e-4·|ref|), then the products with bf16/f16 weights in its bf16 mode \
        (|Δ| ≤ 4e-3·√K + 1e-2·|ref|, inputs in [-1, 1)); each line names the check, its tolerance and its worst error.
        """)

    enum Device: String, ExpressibleByArgument { case cpu, cuda }

    @Option(help: "The backend to check: cpu (the fast kernels) or cuda (GPU 0).")
    var device: Device = .cpu

    @Flag(help: "Only the op checks (skip the tiny-model checks).")
    var opsOnly = false

    func run() throws {
        let reference = try CPUBackend(kernels: .reference)
        var suites: [(title: String, suite: BackendSelfTest)] = []
        switch device {
        case .cpu:
            let fast = try CPUBackend(kernels: .fast)
            suites.append(("cpu: ops", BackendSelfTest(candidate: fast, reference: reference, checks: BackendSelfTest.opChecks())))
            if !opsOnly { suites.append(("cpu: model", BackendSelfTest(candidate: fast, reference: reference, checks: ModelSelfTest.checks()))) }
            let half = try CPUBackend(kernels: .fast, matmul: .halfInputs)
            if let why = half.matmulFallback {
                print("cpu bf16 mode: not checked, bf16 products run in fp32 here (\(why.reason))")
            } else {
                let roundedReference = try CPUBackend(kernels: .reference, matmul: .halfInputs)
                let gemmChecks = BackendSelfTest.opChecks().filter { $0.name.hasPrefix("gemm") }
                suites.append(("cpu bf16 mode: products against the fp32 reference",
                               BackendSelfTest(candidate: half, reference: reference, checks: BackendSelfTest.halfInputProductChecks())))
                suites.append(("cpu bf16 mode: products against the reference with rounded activations",
                               BackendSelfTest(candidate: half, reference: roundedReference, checks: gemmChecks)))
                let invariant = try CPUBackend(kernels: .fast, matmul: .halfInputs, batchInvariant: true)
                if invariant.batchInvariant {
                    suites.append(("cpu bf16 batch-invariant products (generate, serve) against the reference with rounded activations",
                                   BackendSelfTest(candidate: invariant, reference: roundedReference, checks: gemmChecks)))
                } else {
                    print("cpu bf16 batch-invariant products: not checked, this CPU has no AVX512-BF16 row kernel")
                }
            }
        case .cuda:
            let gpu = try DriverDevice()
            print("device: \(gpu.name), driver \(gpu.driverVersion / 1000).\(gpu.driverVersion % 1000 / 10), kernels for \(gpu.architecture)")
            do {
                let busy = try GPUUtilization(pciBusID: gpu.pciBusID).sample()
                print("nvml: the GPU at \(gpu.pciBusID) reads " + (busy.map { "\($0.gpu)% busy, memory \($0.memory)% busy" } ?? "no utilisation now"))
            } catch {
                print("nvml: \(error)")
            }
            let exact = try CUDABackend(device: gpu, matmul: .fp32), half = try CUDABackend(device: gpu, matmul: .halfInputs)
            suites.append(("cuda fp32 mode: ops", BackendSelfTest(candidate: exact, reference: reference, checks: BackendSelfTest.opChecks())))
            suites.append(("cuda bf16 mode: products",
                           BackendSelfTest(candidate: half, reference: reference, checks: BackendSelfTest.halfInputProductChecks())))
            if !opsOnly {
                suites.append(("cuda fp32 mode: model", BackendSelfTest(candidate: exact, reference: reference, checks: ModelSelfTest.checks())))
            }
        }
        var failed = 0, total = 0
        for (title, suite) in suites {
            print("== \(title) (\(suite.checks.count) checks)")
            for result in suite.run(report: { print($0) }) {
                total += 1
                if !result.passed { failed += 1 }
            }
        }
        print(failed == 0 ? "selftest passed: \(total) checks" : "selftest FAILED: \(failed) of \(total) checks")
        if failed > 0 { throw ExitCode(1) }
    }
}
