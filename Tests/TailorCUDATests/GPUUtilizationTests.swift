import Foundation
@testable import TailorCUDA
import XCTest

/// NVML is optional: without it (or without the GPU) utilisation is a clear error the run turns into a note.
final class GPUUtilizationTests: XCTestCase {
    func testPCIAddressesAreSpelledAsNVMLSpellsThem() {
        XCTAssertEqual(DriverDevice.pciBusID(domain: 0, bus: 0x1b, device: 0), "00000000:1B:00.0")
        XCTAssertEqual(DriverDevice.pciBusID(domain: 1, bus: 0xc3, device: 0x1f), "00000001:C3:1F.0")
    }

    func testALibraryThatIsNotNVMLIsAClearError() throws {
        let missing = "/nonexistent/libnvidia-ml.so.1"
        setenv("TAILOR_LIBNVML", missing, 1)
        defer { unsetenv("TAILOR_LIBNVML") }
        XCTAssertThrowsError(try GPUUtilization(pciBusID: "00000000:01:00.0")) { error in
            XCTAssertTrue("\(error)".contains("cannot load \(missing)") && "\(error)".contains("TAILOR_LIBNVML"), "\(error)")
        }
        setenv("TAILOR_LIBNVML", "libz.so.1", 1)
        XCTAssertThrowsError(try GPUUtilization(pciBusID: "00000000:01:00.0")) { error in
            XCTAssertTrue("\(error)".contains("libz.so.1 lacks the entry point nvmlInit_v2"), "\(error)")
        }
    }

    /// On a GPU machine: the training device's utilisation reads as percentages.
    func testTheDeviceReadsWhenAGPUIsPresent() throws {
        guard let gpu = try? DriverDevice() else { throw XCTSkip("no CUDA device here") }
        let busy = try GPUUtilization(pciBusID: gpu.pciBusID).sample()
        let reading = try XCTUnwrap(busy, "NVML reads the device")
        XCTAssertTrue((0...100).contains(reading.gpu) && (0...100).contains(reading.memory), "\(reading)")
    }
}
