import TailorModels
import XCTest

/// The activation estimate `tailor train --dry-run` prints.
final class ModelConfigMemoryTests: XCTestCase {
    func testBF16GateAndUpHalveTheirShare() throws {
        let config = try ModelPresets.config(named: "qwen2.5-0.5b")
        let tokens = 4096, gateUpValues = 2 * config.intermediateSize
        let f32 = config.activationBytes(tokens: tokens, checkpointing: false)
        let bf16 = config.activationBytes(tokens: tokens, checkpointing: false, savedBytes: 2)
        XCTAssertEqual(f32 - bf16, tokens * config.layerCount * gateUpValues * 2, "2 bytes saved per gate/up value per layer")
        // With checkpointing only the one recompute set holds gate and up.
        let checkpointedF32 = config.activationBytes(tokens: tokens, checkpointing: true)
        let checkpointedBF16 = config.activationBytes(tokens: tokens, checkpointing: true, savedBytes: 2)
        XCTAssertEqual(checkpointedF32 - checkpointedBF16, tokens * gateUpValues * 2)
        // Gate and up are most of what a layer keeps: on Qwen2.5-0.5B bf16 saves about a third.
        XCTAssertLessThan(Double(bf16), 0.7 * Double(f32))
    }
}
