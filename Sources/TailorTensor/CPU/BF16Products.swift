import CBLAS

/// The library behind bf16 products on the CPU: oneDNN's matmul, loaded at run time, on the
/// AMX or AVX512-BF16 kernel oneDNN picks from cpuid (docs/cpu.md).
public struct BF16ProductInfo: Sendable, Equatable {
    /// The soname or path loaded ("libdnnl.so.2").
    public let library: String
    /// oneDNN's version ("2.6.3").
    public let version: String
    /// oneDNN's name for the kernel it runs ("brg:avx512_core_bf16", "brg:avx512_core_amx").
    public let kernel: String

    /// The loaded library, or why bf16 products cannot run on this machine (no AMX-BF16 or
    /// AVX512-BF16, no libdnnl2, or a oneDNN without a fast bf16 kernel here).
    public static func load() -> Result<BF16ProductInfo, BF16Unavailable> {
        guard tailor_dnnl_load() == 1 else { return .failure(BF16Unavailable(reason: String(cString: tailor_dnnl_error()))) }
        return .success(BF16ProductInfo(library: String(cString: tailor_dnnl_library()), version: String(cString: tailor_dnnl_version()),
                                        kernel: String(cString: tailor_dnnl_kernel())))
    }

    /// "oneDNN 2.6.3 (libdnnl.so.2), kernel brg:avx512_core_bf16".
    public var summary: String { "oneDNN \(version) (\(library)), kernel \(kernel)" }
}

/// Why this machine multiplies in fp32 when bf16 products are asked for.
public struct BF16Unavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
