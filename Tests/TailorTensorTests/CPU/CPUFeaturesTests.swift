import Foundation
import TailorTensor
import XCTest

/// cpuid as Tailor reads it, against what Linux says of the same CPU, and the BLAS kernel family
/// chosen from it.
final class CPUFeaturesTests: XCTestCase {
    /// The `flags` of /proc/cpuinfo's first processor (Linux lists a feature only when it is usable).
    func linuxFlags() throws -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { throw XCTSkip("no /proc/cpuinfo here") }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }), let colon = line.firstIndex(of: ":") else {
            throw XCTSkip("/proc/cpuinfo has no flags line (not x86-64)")
        }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    func testFeaturesAgreeWithLinux() throws {
        let flags = try linuxFlags()
        let cpu = CPUFeatures.current
        XCTAssertTrue(cpu.isX86)
        let pairs: [(String, Bool)] = [
            ("avx", cpu.avx), ("avx2", cpu.avx2), ("fma", cpu.fma), ("f16c", cpu.f16c),
            ("avx512f", cpu.avx512f), ("avx512bw", cpu.avx512bw), ("avx512dq", cpu.avx512dq), ("avx512vl", cpu.avx512vl),
            ("avx512_vnni", cpu.avx512VNNI), ("avx512_bf16", cpu.avx512BF16),
            ("amx_tile", cpu.amxTile), ("amx_bf16", cpu.amxBF16), ("amx_int8", cpu.amxInt8),
        ]
        for (flag, detected) in pairs {
            XCTAssertEqual(detected, flags.contains(flag), "\(flag): cpuid+xgetbv says \(detected), /proc/cpuinfo says \(flags.contains(flag))")
        }
        XCTAssertEqual(Set(cpu.names), Set(pairs.filter(\.1).map(\.0)))
        XCTAssertFalse(cpu.vendor.isEmpty)
        if cpu.amxTile { XCTAssertTrue(cpu.amxPermitted, "Linux refused AMX tile permission (arch_prctl ARCH_REQ_XCOMP_PERM)") }
    }

    /// The core OpenBLAS runs is the one chosen from cpuid (or the one forced for this run).
    func testBLASCoreFollowsTheCPUFeatures() throws {
        let info = try CPUBackend.blas.get()
        let cpu = CPUFeatures.current
        if let forced = ProcessInfo.processInfo.environment["TAILOR_BLAS_CORETYPE"], !forced.isEmpty, forced != "auto" {
            guard forced != "library" else { return XCTAssertEqual(info.requestedCore, "") }
            XCTAssertEqual(info.reason, "forced by TAILOR_BLAS_CORETYPE")
            XCTAssertEqual(info.core.lowercased(), forced.lowercased())
            return
        }
        let expected = cpu.avx512 ? "SkylakeX" : cpu.avx2 && cpu.fma ? "Haswell" : cpu.avx ? "SandyBridge" : ""
        XCTAssertEqual(info.requestedCore, expected)
        if !expected.isEmpty {
            XCTAssertEqual(info.core.lowercased(), expected.lowercased(), "OpenBLAS runs \(info.core): \(info.config)")
            XCTAssertTrue(info.reason.hasPrefix("cpuid: "), info.reason)
        }
    }
}
