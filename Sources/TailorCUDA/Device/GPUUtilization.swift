import CCUDA

/// How busy the GPU is, through NVML (libnvidia-ml.so.1 from the NVIDIA driver, loaded with dlopen):
/// the percent of the driver's last sample period in which a kernel ran, and in which device memory
/// was read or written, as `nvidia-smi` shows them. The GPU is found by the CUDA device's PCI address,
/// so the numbers are the training device's whatever CUDA_VISIBLE_DEVICES renumbers.
public final class GPUUtilization: @unchecked Sendable {
    private let device: UnsafeMutableRawPointer

    /// - Throws: `CUDAError.driverUnavailable` saying why when NVML is absent (no NVIDIA driver, or
    ///   TAILOR_LIBNVML names no library) or does not know the device.
    public init(pciBusID: String) throws {
        let path = CUDALibraries.environment("TAILOR_LIBNVML") ?? "libnvidia-ml.so.1"
        guard tailor_nvml_load(path) == 1 else {
            throw CUDAError.driverUnavailable("NVML (\(path)): \(String(cString: tailor_nvml_error())). The NVIDIA driver installs it; set TAILOR_LIBNVML to its path if it is not on the library path")
        }
        var handle: UnsafeMutableRawPointer?
        let result = tailor_nvml_device_by_pci(pciBusID, &handle)
        guard result == 0, let handle else {
            throw CUDAError.driverUnavailable("NVML has no GPU at PCI address \(pciBusID): \(String(cString: tailor_nvml_result_string(result)))")
        }
        device = handle
    }

    /// (GPU busy, memory busy) in percent, or nil when NVML cannot say now.
    public func sample() -> (gpu: Int, memory: Int)? {
        var gpu: UInt32 = 0, memory: UInt32 = 0
        guard tailor_nvml_utilization(device, &gpu, &memory) == 0 else { return nil }
        return (Int(gpu), Int(memory))  // allowed: percentages, 0...100
    }
}
