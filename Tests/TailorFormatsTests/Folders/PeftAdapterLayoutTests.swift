import Foundation
import TailorFormats
import TailorTestSupport
import XCTest

/// The peft folder layout and adapter_config.json schema against folders peft 0.21.2 wrote
/// (Tests/Fixtures/lora*/…/init, final).
final class PeftAdapterLayoutTests: XCTestCase {
    let folders = ["lora/llama/init", "lora/qwen2/init", "lora-extras/qwen2-bias-all/final", "lora-extras/llama-tied-ensure/final"]

    func testSchemaKeysAreSpelledAsPeftWritesThem() throws {
        for name in folders {
            let url = TestPaths.fixture(name).appendingPathComponent(PeftAdapterLayout.configFile)
            let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], name)
            let missing = PeftAdapterConfigKey.allCases.map(\.rawValue).filter { config[$0] == nil }
            XCTAssertEqual(missing, [], "\(name): schema keys peft does not write")
            XCTAssertEqual(config[PeftAdapterConfigKey.peftType.rawValue] as? String, "LORA", name)
        }
    }

    func testWeightKeysFollowTheLayout() throws {
        for name in folders {
            let file = try SafetensorsFile(url: TestPaths.fixture(name).appendingPathComponent(PeftAdapterLayout.weightsFile))
            XCTAssertTrue(file.tensorNames.allSatisfy { $0.hasPrefix(PeftAdapterLayout.keyPrefix) }, name)
            let a = file.tensorNames.filter { $0.hasSuffix(PeftAdapterLayout.loraASuffix) }
            let b = file.tensorNames.filter { $0.hasSuffix(PeftAdapterLayout.loraBSuffix) }
            XCTAssertFalse(a.isEmpty, name)
            XCTAssertEqual(Set(a.map { $0.dropLast(PeftAdapterLayout.loraASuffix.count) }), Set(b.map { $0.dropLast(PeftAdapterLayout.loraBSuffix.count) }),
                           "\(name): every A has its B")
        }
        let biases = try SafetensorsFile(url: TestPaths.fixture("lora-extras/qwen2-bias-lora-only/final").appendingPathComponent(PeftAdapterLayout.weightsFile))
        XCTAssertTrue(biases.tensorNames.contains(PeftAdapterLayout.key("model.layers.0.self_attn.q_proj" + PeftAdapterLayout.baseLayer + ".bias")),
                      "\(biases.tensorNames)")
    }
}
