import CBLAS

/// What this CPU and its OS let Tailor use (cpuid + xgetbv), read once. A feature is listed only
/// when the OS also saves its registers; AMX also needs Linux's per-process permission.
public struct CPUFeatures: Sendable, Equatable {
    public let vendor: String
    /// The brand string, e.g. "AMD EPYC 7B13" or "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz".
    public let brand: String
    public let family: Int
    public let model: Int
    public let stepping: Int
    public let isX86: Bool
    public let avx: Bool, avx2: Bool, fma: Bool, f16c: Bool
    public let avx512f: Bool, avx512bw: Bool, avx512dq: Bool, avx512vl: Bool, avx512VNNI: Bool, avx512BF16: Bool
    public let amxTile: Bool, amxBF16: Bool, amxInt8: Bool
    /// AMX tiles may be used by this process (Linux granted XTILEDATA).
    public let amxPermitted: Bool

    /// The running CPU.
    public static let current = CPUFeatures(tailor_cpu_features().pointee)

    init(_ raw: TailorCPUFeatures) {
        var copy = raw
        vendor = withUnsafeBytes(of: &copy.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        brand = withUnsafeBytes(of: &copy.brand) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            .trimmingSpaces()
        family = Int(raw.family)  // allowed: cpuid family/model/stepping fields widen
        model = Int(raw.model)  // allowed: cpuid family/model/stepping fields widen
        stepping = Int(raw.stepping)  // allowed: cpuid family/model/stepping fields widen
        isX86 = raw.is_x86 != 0
        avx = raw.avx != 0
        avx2 = raw.avx2 != 0
        fma = raw.fma != 0
        f16c = raw.f16c != 0
        avx512f = raw.avx512f != 0
        avx512bw = raw.avx512bw != 0
        avx512dq = raw.avx512dq != 0
        avx512vl = raw.avx512vl != 0
        avx512VNNI = raw.avx512_vnni != 0
        avx512BF16 = raw.avx512_bf16 != 0
        amxTile = raw.amx_tile != 0
        amxBF16 = raw.amx_bf16 != 0
        amxInt8 = raw.amx_int8 != 0
        amxPermitted = raw.amx_permitted != 0
    }

    /// AVX-512 as the kernels use it: foundation plus byte/word, dword/qword and 128/256-bit forms.
    public var avx512: Bool { avx512f && avx512bw && avx512dq && avx512vl }

    /// The features Tailor looks at that this CPU has, in cpuid's spelling.
    public var names: [String] {
        let all: [(String, Bool)] = [
            ("avx", avx), ("avx2", avx2), ("fma", fma), ("f16c", f16c),
            ("avx512f", avx512f), ("avx512bw", avx512bw), ("avx512dq", avx512dq), ("avx512vl", avx512vl),
            ("avx512_vnni", avx512VNNI), ("avx512_bf16", avx512BF16),
            ("amx_tile", amxTile), ("amx_bf16", amxBF16), ("amx_int8", amxInt8),
        ]
        return all.filter(\.1).map(\.0)
    }

    /// One line for headers and bug reports: brand, family/model, features.
    public var summary: String {
        guard isX86 else { return "not x86-64" }
        let features = names.isEmpty ? "no AVX" : names.joined(separator: " ")
        return "\(brand.isEmpty ? vendor : brand) (family \(family) model \(model)): \(features)"
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// The BLAS library Tailor loaded and the kernel family it runs.
public struct BLASInfo: Sendable, Equatable {
    /// The path or soname that was loaded.
    public let library: String
    /// openblas_get_config() (version, DYNAMIC_ARCH, ...), empty when the library lacks it.
    public let config: String
    /// openblas_get_corename(): what the library runs.
    public let core: String
    /// The core Tailor asked for, empty when the library chose on its own.
    public let requestedCore: String
    /// Why: the cpuid features, TAILOR_BLAS_CORETYPE, or the library's own detection.
    public let reason: String
    /// An OPENBLAS_CORETYPE from the environment that Tailor's choice replaced.
    public let replacedEnvironmentCore: String?

    /// The loaded library, or nil with the loader's message when none loads.
    public static func load() -> Result<BLASInfo, TensorError> {
        guard tailor_cblas_load() == 1 else { return .failure(.blasUnavailable(String(cString: tailor_cblas_error()))) }
        let replaced = String(cString: tailor_cblas_replaced_core())
        return .success(BLASInfo(library: String(cString: tailor_cblas_library()), config: String(cString: tailor_cblas_config()),
                                 core: String(cString: tailor_cblas_core()), requestedCore: String(cString: tailor_cblas_chosen_core()),
                                 reason: String(cString: tailor_cblas_core_reason()),
                                 replacedEnvironmentCore: replaced.isEmpty ? nil : replaced))
    }

    /// "OpenBLAS 0.3.21 ... core Haswell (cpuid: AVX2 + FMA)".
    public var summary: String {
        let name = config.isEmpty ? library : config
        return "\(name), core \(core.isEmpty ? "?" : core) (\(reason))"
    }
}
