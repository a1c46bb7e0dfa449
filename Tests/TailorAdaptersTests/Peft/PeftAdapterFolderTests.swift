import Foundation
import TailorTestSupport
@testable import TailorAdapters
import TailorFormats
import XCTest

/// adapter_config.json through TailorJSON: bad JSON names the file, line and column; Tailor writes it as peft does.
final class PeftAdapterFolderTests: XCTestCase {
    func testMalformedConfigNamesFileLineAndColumn() throws {
        let url = try MalformedJSON.write(PeftAdapterLayout.configFile)
        MalformedJSON.assertNamesPosition(url.path + " is ") {
            _ = try PeftAdapterFolder.readConfig(folder: url.deletingLastPathComponent())
        }
    }

    func testConfigIsWrittenAsPeftWritesIt() throws {
        // peft: json.dumps(config, indent=2, sort_keys=True), lora_alpha an int, lora_dropout a float, no final newline.
        let url = try MalformedJSON.write(PeftAdapterLayout.configFile)
        let config = LoRAConfig(r: 4, loraAlpha: 16, loraDropout: 0, targetModules: .names(["q_proj"]))
        try PeftAdapterWriter.writeJSON(PeftAdapterWriter.configObject(config, modules: ["model.layers.0.self_attn.q_proj"], baseModel: "m"),
                                        to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\n  \"alpha_pattern\": {},\n  \"base_model_name_or_path\": \"m\",\n  \"bias\": \"none\",\n"), text)
        for line in ["  \"lora_alpha\": 16,", "  \"lora_dropout\": 0.0,", "  \"r\": 4,", "  \"modules_to_save\": null,",
                     "  \"target_modules\": [\n    \"q_proj\"\n  ],"] {
            XCTAssertTrue(text.contains(line + "\n"), line)
        }
        XCTAssertTrue(text.hasSuffix("\n  \"use_rslora\": false\n}"), text)
        let read = try PeftAdapterFolder.readConfig(folder: url.deletingLastPathComponent())
        XCTAssertEqual(read.r, 4)
        XCTAssertEqual(read.loraAlpha, 16)
    }
}
