/// One CUDA C translation unit of the CUDA backend, compiled at run time by NVRTC.
public struct KernelSource: Sendable {
    /// Program name (the log's file name is `name.cu`).
    public let name: String
    /// The `extern "C" __global__` functions it defines, as the driver will look them up.
    public let entries: [String]
    public let code: String

    public init(name: String, entries: [String], code: String) {
        self.name = name
        self.entries = entries
        self.code = code
    }

    /// Every kernel source of the backend.
    public static let all: [KernelSource] = [elementwise, rmsNorm]
}
