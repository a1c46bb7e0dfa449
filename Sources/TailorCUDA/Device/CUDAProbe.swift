/// Whether a CUDA GPU is usable here, for reports: the device, or why not.
public enum CUDAProbe {
    /// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs), driver 13.0", or "not usable: <why>".
    public static func status(ordinal: Int = 0) -> String {
        do {
            let device = try DriverDevice(ordinal: ordinal)
            return "\(device.name), driver \(device.driverVersion / 1000).\(device.driverVersion % 1000 / 10)"
        } catch {
            return "not usable: \(error)"
        }
    }
}
