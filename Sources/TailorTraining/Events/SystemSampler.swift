import Foundation
import TailorTensor

/// What the machine shows while a run trains (SwanLab's hardware panel): the process's resident and peak
/// memory, its CPU use, and the accelerator's memory and utilisation when there is one. Logged as its own series
/// (metrics.jsonl `"event": "system"`, TensorBoard `system/...`), never in trainer_state.json's log_history.
public struct SystemRecord: Sendable, Equatable {
    public var step: Int
    /// Resident set size now, and the process's peak so far (Linux: VmRSS, VmHWM).
    public var residentBytes: Int
    public var peakResidentBytes: Int
    /// CPU time (user + system, every thread) over wall time since the previous sample, in percent
    /// (200 = two cores busy), as `top` shows a process.
    public var cpuPercent: Double
    /// Device memory held by tensors now (CUDA), nil on the CPU.
    public var deviceBytes: Int?
    /// The GPU's utilisation (NVML: percent of the last sample period a kernel ran, and memory was
    /// read or written), nil on the CPU or without NVML.
    public var deviceUtilization: (gpu: Int, memory: Int)?

    public static func == (a: SystemRecord, b: SystemRecord) -> Bool {
        (a.step, a.residentBytes, a.peakResidentBytes, a.cpuPercent, a.deviceBytes) == (b.step, b.residentBytes, b.peakResidentBytes, b.cpuPercent, b.deviceBytes)
            && a.deviceUtilization?.gpu == b.deviceUtilization?.gpu && a.deviceUtilization?.memory == b.deviceUtilization?.memory
    }

    /// The series names and values, as metrics.jsonl and TensorBoard write them.
    public var values: [(name: String, value: Double)] {
        var result = [("system/rss_gb", Double(residentBytes) / 1e9), ("system/peak_rss_gb", Double(peakResidentBytes) / 1e9),
                      ("system/cpu_percent", cpuPercent)]
        if let deviceBytes { result.append(("system/device_memory_gb", Double(deviceBytes) / 1e9)) }
        if let deviceUtilization {
            result += [("system/gpu_utilization", Double(deviceUtilization.gpu)), ("system/gpu_memory_utilization", Double(deviceUtilization.memory))]
        }
        return result
    }
}

/// Takes `SystemRecord`s: each sample's CPU share is over the time since the previous one.
public final class SystemSampler: @unchecked Sendable {
    private var lastCPU: Double
    private var lastWall: Double
    /// Device memory in use now (the CUDA allocator's), when the run has a device.
    public var deviceBytes: (() -> Int)?
    /// The GPU's utilisation now (NVML), when the run has a device and NVML is present.
    public var deviceUtilization: (() -> (gpu: Int, memory: Int)?)?

    public init() {
        lastCPU = Self.processCPUSeconds()
        lastWall = monotonicSeconds()
    }

    public func sample(step: Int) -> SystemRecord {
        let cpu = Self.processCPUSeconds(), wall = monotonicSeconds()
        let percent = wall > lastWall ? 100 * (cpu - lastCPU) / (wall - lastWall) : 0
        (lastCPU, lastWall) = (cpu, wall)
        let status = procFieldBytes("/proc/self/status")
        return SystemRecord(step: step, residentBytes: status?["VmRSS"] ?? 0, peakResidentBytes: status?["VmHWM"] ?? peakResidentBytes(),
                            cpuPercent: percent, deviceBytes: deviceBytes?(), deviceUtilization: deviceUtilization?() ?? nil)
    }

    /// User + system CPU seconds of every thread of this process.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports RUSAGE_SELF as an enum case
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
