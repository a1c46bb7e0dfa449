import TailorTensor

/// The memory a plan fits a run into: this machine's RAM, a GPU's memory, or a size the user gave.
public struct MemoryBudget: Sendable, Equatable {
    public enum Kind: String, Sendable { case ram = "RAM", gpu = "GPU memory" }
    public var kind: Kind
    /// Bytes a run can use now (MemAvailable; a GPU's free memory; the size given).
    public var available: Int
    /// Bytes in all, where known.
    public var total: Int?
    /// Where the numbers come from ("/proc/meminfo", "cuMemGetInfo on NVIDIA H200", "--memory").
    public var source: String

    public init(kind: Kind, available: Int, total: Int? = nil, source: String) {
        (self.kind, self.available, self.total, self.source) = (kind, available, total, source)
    }

    /// This machine's RAM from /proc/meminfo (MemAvailable of MemTotal); nil where it cannot be read.
    public static func ram() -> MemoryBudget? {
        let report = CPUReport.current()
        guard let available = report.memoryAvailable ?? report.memoryTotal else { return nil }
        return MemoryBudget(kind: .ram, available: available, total: report.memoryTotal, source: "/proc/meminfo")
    }

    /// "19.30 GB RAM available of 23.00 GB (/proc/meminfo)".
    public var summary: String {
        "\(MemoryEstimate.gigabytes(available)) \(kind.rawValue) available" + (total.map { " of \(MemoryEstimate.gigabytes($0))" } ?? "")
            + " (\(source))"
    }
}
