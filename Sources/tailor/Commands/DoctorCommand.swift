import ArgumentParser
import TailorCUDA
import TailorTensor

/// `tailor doctor`: what a user pastes into a bug report — the CPU and the paths Tailor chose for
/// it, memory, and whether a CUDA GPU is usable (and why not).
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show this machine as Tailor sees it: CPU features, the GEMM library and kernel chosen (with its measured GFLOP/s), threads, memory, bf16, CUDA.",
        discussion: """
        The BLAS kernel family is chosen from cpuid (AVX-512, AVX2 + FMA, AVX) and handed to OpenBLAS; \
        TAILOR_BLAS_CORETYPE=NAME forces one (an OpenBLAS core name such as Haswell or SkylakeX, or `library` \
        for OpenBLAS's own detection). TAILOR_NUM_THREADS sets the thread count. Paste the output into bug reports.
        """)

    @Flag(help: "Skip the sgemm measurement (about a second).")
    var noMeasure = false

    func run() throws {
        var report = CPUReport.current()
        if !noMeasure { try report.measureGemm() }
        var rows = [("tailor", Tailor.configuration.version)] + report.lines
        rows.append(("cuda", CUDAProbe.status()))
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(key + ":" + String(repeating: " ", count: width - key.count + 1) + value)
        }
    }
}
