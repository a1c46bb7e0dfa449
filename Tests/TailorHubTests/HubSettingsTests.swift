import Foundation
import TailorHub
import XCTest

/// The environment variables read as huggingface_hub's constants.py reads them.
final class HubSettingsTests: XCTestCase {
    func testEnvironment() throws {
        var settings = HubSettings.fromEnvironment(["HOME": "/home/u"])
        XCTAssertEqual(settings.endpoint, "https://huggingface.co")
        XCTAssertEqual(settings.cacheDirectory.path, "/home/u/.cache/huggingface/hub")
        XCTAssertFalse(settings.offline)
        settings = HubSettings.fromEnvironment(["HOME": "/home/u", "XDG_CACHE_HOME": "/x"])
        XCTAssertEqual(settings.cacheDirectory.path, "/x/huggingface/hub")
        settings = HubSettings.fromEnvironment(["HOME": "/home/u", "HF_HOME": "~/hf", "HF_ENDPOINT": "http://127.0.0.1:9/", "HF_HUB_OFFLINE": "1",
                                                "HF_TOKEN": "hf_x"])
        XCTAssertEqual(settings.cacheDirectory.path, "/home/u/hf/hub")
        XCTAssertEqual(settings.endpoint, "http://127.0.0.1:9")
        XCTAssertTrue(settings.offline)
        XCTAssertEqual(settings.token, "hf_x")
        settings = HubSettings.fromEnvironment(["HOME": "/home/u", "HF_HOME": "/a", "HF_HUB_CACHE": "/b", "TRANSFORMERS_OFFLINE": "yes"])
        XCTAssertEqual(settings.cacheDirectory.path, "/b")
        XCTAssertTrue(settings.offline)
        XCTAssertFalse(HubSettings.fromEnvironment(["HOME": "/home/u", "HF_HUB_OFFLINE": "0"]).offline)

        let home = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-hf-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "hf_from_file\n".write(to: home.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        XCTAssertEqual(HubSettings.fromEnvironment(["HOME": "/home/u", "HF_HOME": home.path]).token, "hf_from_file")
    }
}
