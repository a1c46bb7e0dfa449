import Foundation
@testable import TailorTraining
import XCTest

/// The system series a run logs: memory and CPU always; device memory and NVML's utilisation only when a GPU reports them.
final class SystemRecordTests: XCTestCase {
    func testTheSeriesFollowWhatTheMachineReports() {
        var record = SystemRecord(step: 3, residentBytes: 2_000_000_000, peakResidentBytes: 3_000_000_000, cpuPercent: 150)
        XCTAssertEqual(record.values.map(\.name), ["system/rss_gb", "system/peak_rss_gb", "system/cpu_percent"])
        XCTAssertEqual(record.values.map(\.value), [2, 3, 150])
        record.deviceBytes = 5_000_000_000
        record.deviceUtilization = (gpu: 87, memory: 41)
        XCTAssertEqual(record.values.map(\.name), ["system/rss_gb", "system/peak_rss_gb", "system/cpu_percent", "system/device_memory_gb",
                                                   "system/gpu_utilization", "system/gpu_memory_utilization"])
        XCTAssertEqual(record.values.suffix(3).map(\.value), [5, 87, 41])
        var other = record
        other.deviceUtilization = (gpu: 87, memory: 40)
        XCTAssertNotEqual(record, other)
    }

    func testTheSamplerAsksTheDeviceEachTime() {
        let sampler = SystemSampler()
        var calls = 0
        sampler.deviceUtilization = {
            calls += 1
            return calls == 1 ? (gpu: 10, memory: 5) : nil
        }
        XCTAssertEqual(sampler.sample(step: 1).deviceUtilization?.gpu, 10)
        XCTAssertNil(sampler.sample(step: 2).deviceUtilization, "NVML could not say: no value rather than a stale one")
        XCTAssertEqual(calls, 2)
    }
}
