import Foundation
import TailorDigest
import TailorHub
import TailorHubTestSupport
import TailorTestSupport
import XCTest

/// A cache on a 128 kB tmpfs: the 300 kB weights do not fit. Needs root (mount); skipped elsewhere.
final class HubDiskFullTests: XCTestCase {
    /// A 128 kB tmpfs under the fixture's folder, unmounted after `body`.
    func withSmallDisk(_ fixture: HubFixture, _ name: String, _ body: (URL) async throws -> Void) async throws {
        let mountPoint = fixture.cache.deletingLastPathComponent().appendingPathComponent(name, isDirectory: true)
        guard SmallDisk.mount(at: mountPoint, kilobytes: 128) else { throw XCTSkip("cannot mount a tmpfs here (not root?)") }
        defer { SmallDisk.unmount(mountPoint) }
        try await body(mountPoint)
    }

    func testAFullDiskIsAClearErrorAndLeavesNoPartialFile() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        try await withSmallDisk(fixture, "small") { mountPoint in
            var settings = fixture.settings()
            settings.cacheDirectory = mountPoint.appendingPathComponent("hub", isDirectory: true)
            let error = await thrown { try await HubDownloader(settings: settings).download(try RepoID(HubFixture.repo)) }
            guard case .diskFull(let path, _)? = error as? HubError else { return XCTFail("\(String(describing: error))") }
            // Files download in parallel: whichever blob meets the full disk first (usually the 300 kB weights, at
            // times a small file) is the one named, and its partial file is gone; the others were cancelled.
            let blobs = settings.cacheDirectory.appendingPathComponent("models--tiny-org--tiny-llama/blobs")
            XCTAssertTrue(path.hasPrefix(blobs.path + "/") && path.hasSuffix(".incomplete"), path)
            XCTAssertTrue("\(error!)".contains("no space left"), "\(error!)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the partial file the full disk stopped is deleted: \(path)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []
            XCTAssertFalse(left.contains { !$0.hasSuffix(".incomplete") && $0 == SHA256.hex(HubFixture.weights) }, "no blob under its final name: \(left)")
        }
    }

    /// The same for a ModelScope download: the file the full disk stopped is deleted, none has its final name.
    func testAFullDiskDuringAModelScopeDownload() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        try await withSmallDisk(fixture, "small-ms") { mountPoint in
            var settings = fixture.settings()
            settings.cacheDirectory = mountPoint
            let error = await thrown { try await ModelScopeDownloader(settings: settings).download(try RepoID(HubFixture.repo)) }
            guard case .modelScope(.diskFull(let path, _))? = error as? HubError else { return XCTFail("\(String(describing: error))") }
            let snapshot = mountPoint.appendingPathComponent("models/tiny-org--tiny-llama/snapshots/master")
            XCTAssertTrue(path.hasPrefix(snapshot.path + "/") && path.hasSuffix(".incomplete"), path)
            XCTAssertTrue("\(error!)".contains("no space left") && "\(error!)".contains("MODELSCOPE_CACHE"), "\(error!)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the partial file the full disk stopped is deleted: \(path)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("model.safetensors").path), "no weights under the final name")
        }
    }
}
