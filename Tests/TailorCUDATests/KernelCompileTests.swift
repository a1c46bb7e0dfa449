import TailorCUDA
import XCTest

/// Every CUDA kernel source compiles to PTX with NVRTC for the GPU machines' architecture
/// (compute_90, H100/H200), with no GPU here. NVRTC comes from pip (`nvidia-cuda-nvrtc==13.0.*`,
/// the GPU machines' CUDA 13.0); scripts/test.sh installs it and sets TAILOR_NVRTC.
final class KernelCompileTests: XCTestCase {
    func nvrtc() throws -> NVRTC {
        do { return try NVRTC.load() } catch {
            throw XCTSkip("skipped: \(error)")
        }
    }

    func testEveryKernelSourceCompilesToPTX() throws {
        let compiler = try nvrtc()
        XCTAssertGreaterThanOrEqual(compiler.version.major, 12)
        for source in KernelSource.all {
            let ptx = try compiler.compile(source)
            XCTAssertTrue(ptx.contains(".target sm_90"), "\(source.name): \(ptx.prefix(300))")
            for entry in source.entries {
                XCTAssertTrue(ptx.contains(".entry \(entry)("), "\(source.name) has no entry \(entry)")
            }
        }
    }

    func testACompileErrorNamesTheKernelAndLine() throws {
        let compiler = try nvrtc()
        let broken = KernelSource(name: "broken", entries: ["k"], code: """
        extern "C" __global__ void k(float *x) {
            x[0] = undefined_name;
        }
        """)
        XCTAssertThrowsError(try compiler.compile(broken)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'broken'"), text)
            XCTAssertTrue(text.contains("broken.cu(2)") && text.contains("undefined_name"), text)
        }
    }
}
