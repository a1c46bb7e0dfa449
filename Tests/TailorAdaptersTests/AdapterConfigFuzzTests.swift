import Foundation
import TailorAdapters
import TailorTestSupport
import XCTest

/// Seeded fuzzing of adapter_config.json (see `Fuzz`): a mutated file reads or throws `AdapterError`.
final class AdapterConfigFuzzTests: XCTestCase {
    func testAdapterConfig() throws {
        let folders = try FileManager.default.contentsOfDirectory(at: TestPaths.fixture("generation/adapters"), includingPropertiesForKeys: nil)
        let corpus = Fuzz.files(folders.map { $0.appendingPathComponent("adapter_config.json") })
        Fuzz.run("adapter_config.json", seed: 0xADA, cases: 1000, corpus: corpus, text: true, expected: { $0 is AdapterError }) { bytes in
            let url = try Fuzz.write(bytes, name: "adapter_config.json")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            _ = try PeftAdapterFolder.readConfig(folder: url.deletingLastPathComponent())
        }
    }
}
