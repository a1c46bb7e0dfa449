/// What can go wrong in the CUDA backend, each case saying what to do.
public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// libnvrtc could not be loaded.
    case nvrtcUnavailable(String)
    /// A kernel source did not compile; `log` is NVRTC's log (file:line: error ...).
    case compileFailed(kernel: String, result: String, log: String)
    /// An op the CUDA backend does not run yet.
    case notBuilt(String)
    /// No usable GPU: the driver, a GPU, cuBLAS or NVRTC is missing (the text names what was looked for).
    case driverUnavailable(String)
    /// A CUDA driver or cuBLAS call failed.
    case driverCall(call: String, result: Int, message: String)

    public var description: String {
        switch self {
        case let .nvrtcUnavailable(detail):
            return "NVRTC (libnvrtc.so.13) is not available: \(detail). Install it with `python3 -m pip install nvidia-cuda-nvrtc==13.0.*` and point TAILOR_NVRTC at nvidia/cu13/lib/libnvrtc.so.13, or put it on LD_LIBRARY_PATH"
        case let .compileFailed(kernel, result, log):
            return "CUDA kernel source '\(kernel)' failed to compile (\(result)):\n\(log)"
        case let .driverUnavailable(detail):
            return "no CUDA GPU available: \(detail). Use --device cpu (or --device auto, which falls back to the CPU)"
        case let .driverCall(call, result, message):
            return "\(call) failed with CUDA error \(result): \(message)"
        case let .notBuilt(op):
            return "the CUDA backend does not run \(op) yet; use --device cpu"
        }
    }
}
