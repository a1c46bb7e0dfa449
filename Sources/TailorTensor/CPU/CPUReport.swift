#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a bug report needs to know about the CPU side of this machine: the CPU and the features
/// Tailor looks at, the BLAS library and kernel family chosen for it with its measured rate,
/// threads, memory and how bf16 is computed. `tailor doctor` prints it; benchmarks and training
/// print `pathSummary` in their headers.
public struct CPUReport: Sendable {
    public var features: CPUFeatures
    public var blas: Result<BLASInfo, TensorError>
    public var threads: Int
    public var onlineCores: Int
    /// MemTotal and MemAvailable from /proc/meminfo, in bytes (nil where unknown).
    public var memoryTotal: Int?
    public var memoryAvailable: Int?
    /// sgemm GFLOP/s on all of Tailor's threads, when measured.
    public var gemmRate: Double?
    /// What bf16 products run on, or why this machine multiplies in fp32.
    public var bf16Products: Result<BF16ProductInfo, BF16Unavailable>
    /// bf16-product GFLOP/s on all of Tailor's threads, when measured and available.
    public var bf16GemmRate: Double?

    /// Reads the machine (no measurement).
    public static func current() -> CPUReport {
        let memory = procFieldBytes("/proc/meminfo") ?? [:]
        return CPUReport(features: .current, blas: BLASInfo.load(), threads: Parallel.workerCount, onlineCores: systemCoreCount(),
                         memoryTotal: memory["MemTotal"], memoryAvailable: memory["MemAvailable"], bf16Products: BF16ProductInfo.load())
    }

    /// Times sgemm (and bf16 products, where available) on the fast backend, about a second
    /// each, into `gemmRate` and `bf16GemmRate`; a no-op without BLAS.
    public mutating func measureGemm() throws {
        guard case .success = blas else { return }
        gemmRate = try CPUBackend(kernels: .fast).measureGemmRate(seconds: 0.3, rounds: 3)
        if case .success = bf16Products {
            bf16GemmRate = try CPUBackend(kernels: .fast, matmul: .halfInputs).measureGemmRate(weights: .bf16, seconds: 0.3, rounds: 3)
        }
    }

    /// How `bf16: true` (and `--matmul bf16`) computes on this CPU: bf16 products on oneDNN's
    /// kernel, or fp32 with the reason.
    public var bf16Summary: String {
        switch bf16Products {
        case let .success(info): return "bf16 products on \(info.summary)"
        case let .failure(why): return "fp32 products (\(why.reason))"
        }
    }

    /// One line for run headers: "GEMM OpenBLAS 0.3.21 ..., core Haswell (cpuid: AVX2 + FMA); 2 threads".
    public var pathSummary: String { "\(gemmSummary); \(bf16Summary)" }

    /// "GEMM OpenBLAS … (core …); 2 threads": `pathSummary` without bf16 products, for a header
    /// that states how its own products run.
    public var gemmSummary: String {
        let gemm: String
        switch blas {
        case let .success(info): gemm = info.summary
        case let .failure(error): gemm = "none (\(error))"
        }
        return "GEMM \(gemm); \(threads) thread\(threads == 1 ? "" : "s")"
    }

    /// "key: value" lines.
    public var lines: [(String, String)] {
        var rows: [(String, String)] = [("cpu", features.summary)]
        if features.isX86 { rows.append(("cpu vendor", "\(features.vendor), family \(features.family) model \(features.model) stepping \(features.stepping)")) }
        rows.append(("cores", "\(onlineCores) online; Tailor uses \(threads) thread\(threads == 1 ? "" : "s") (TAILOR_NUM_THREADS sets it)"))
        if let total = memoryTotal {
            rows.append(("memory", "\(gigabytes(total)) total" + (memoryAvailable.map { ", \(gigabytes($0)) available" } ?? "")))
        }
        switch blas {
        case let .success(info):
            rows.append(("blas library", info.library + (info.config.isEmpty ? "" : " (\(info.config))")))
            rows.append(("blas core", "\(info.core.isEmpty ? "?" : info.core): \(info.reason)"
                + (info.requestedCore.isEmpty || info.requestedCore.lowercased() == info.core.lowercased() ? "" : "; asked for \(info.requestedCore)")))
            if let replaced = info.replacedEnvironmentCore {
                rows.append(("blas note", "OPENBLAS_CORETYPE=\(replaced) in the environment was replaced by the core chosen from cpuid; set TAILOR_BLAS_CORETYPE=\(replaced) to force it"))
            }
        case let .failure(error):
            rows.append(("blas library", "none: \(error)"))
        }
        if let rate = gemmRate { rows.append(("sgemm fp32", "\(format(rate)) GFLOP/s on \(threads) thread\(threads == 1 ? "" : "s") (1024×1024 · 1024×2048)")) }
        if let rate = bf16GemmRate { rows.append(("gemm bf16", "\(format(rate)) GFLOP/s on \(threads) thread\(threads == 1 ? "" : "s") (the same shape, bf16 weights)")) }
        rows.append(("bf16", bf16Summary))
        rows.append(("own kernels", "Swift SIMD compiled for baseline \(features.isX86 ? "x86-64" : "arm64") (no run-time ISA paths yet)"))
        return rows
    }

    private func gigabytes(_ bytes: Int) -> String { format(Double(bytes) / 1e9) + " GB" }

    private func format(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return String(scaled)
    }
}
