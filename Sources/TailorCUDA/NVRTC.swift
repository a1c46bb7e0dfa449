import CCUDA
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// NVIDIA's run-time compiler: CUDA C kernel sources to PTX, on any machine that has libnvrtc
/// (no GPU needed), loaded with dlopen so the package builds without CUDA.
public struct NVRTC: Sendable {
    /// NVRTC's version, e.g. (13, 0).
    public let version: (major: Int, minor: Int)

    /// Loads libnvrtc: the file TAILOR_NVRTC names, else the usual sonames on the library path.
    /// - Throws: `CUDAError.nvrtcUnavailable` saying what was tried and how to install it.
    public static func load() throws -> NVRTC {
        let path = CUDALibraries.environment("TAILOR_NVRTC")
        let loaded = path.map { tailor_nvrtc_load($0) } ?? tailor_nvrtc_load(nil)
        guard loaded == 1 else { throw CUDAError.nvrtcUnavailable(String(cString: tailor_nvrtc_error())) }
        var major: Int32 = 0, minor: Int32 = 0
        _ = tailor_nvrtc_version(&major, &minor)
        return NVRTC(version: (Int(major), Int(minor)))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    /// Compiles `source` to PTX for a virtual architecture (compute_90: H100/H200).
    /// - Throws: `CUDAError.compileFailed` with NVRTC's log.
    public func compile(_ source: KernelSource, architecture: String = "compute_90") throws -> String {
        let options = ["--gpu-architecture=\(architecture)", "--std=c++17", "-default-device"]
        var cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        var ptx: UnsafeMutablePointer<CChar>?, log: UnsafeMutablePointer<CChar>?
        let result = cOptions.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { options in
                tailor_nvrtc_compile(source.fullCode, source.name + ".cu", options.baseAddress, Int32(options.count), &ptx, &log)  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            }
        }
        defer { free(ptx); free(log) }
        guard result == 0, let ptx else {
            throw CUDAError.compileFailed(kernel: source.name, result: String(cString: tailor_nvrtc_result_string(result)),
                                          log: log.map { String(cString: $0) } ?? "(no log)")
        }
        return String(cString: ptx)
    }
}
