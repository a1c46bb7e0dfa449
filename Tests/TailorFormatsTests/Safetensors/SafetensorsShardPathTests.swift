import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// A shard path in model.safetensors.index.json never leads out of the model folder: absolute
/// paths, `..` and symbolic links out of it are refused, naming the index and the entry. Links into
/// a Hugging Face cache's blobs (the hub cache's own layout) are followed.
final class SafetensorsShardPathTests: XCTestCase {
    private let reference = TestPaths.fixture("formats/safetensors/sharded")
    private let moved = "model-00002-of-00002.safetensors"

    /// A copy of the sharded fixture inside `root`, whose index maps lm_head.weight (in `moved`) to `shard`.
    private func folder(in root: URL, mapping shard: String) throws -> URL {
        let folder = root.appendingPathComponent("model")
        try FileManager.default.copyItem(at: reference, to: folder)
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        let text = try String(contentsOf: index, encoding: .utf8)
            .replacingOccurrences(of: "\"lm_head.weight\": \"\(moved)\"", with: "\"lm_head.weight\": \"\(shard)\"")
            .replacingOccurrences(of: "\"model.norm.weight\": \"\(moved)\"", with: "\"model.norm.weight\": \"\(shard)\"")
        XCTAssertTrue(text.contains(shard))
        try Data(text.utf8).write(to: index)
        return folder
    }

    private func assertRefused(_ folder: URL, shard: String, _ words: String, line: UInt = #line) {
        let error = expectFormatError { try SafetensorsCheckpoint(folder: folder) }
        guard case let .shardOutsideFolder(index, tensor, named, _)? = error else { return XCTFail("\(String(describing: error))", line: line) }
        XCTAssertEqual(index, folder.appendingPathComponent("model.safetensors.index.json").path, line: line)
        XCTAssertEqual(tensor, "lm_head.weight", line: line)
        XCTAssertEqual(named, shard, line: line)
        let message = error?.description ?? ""
        XCTAssertTrue(message.hasPrefix("\(index): weight_map[\"lm_head.weight\"] is \"\(shard)\", which \(words)"), message, line: line)
    }

    func testParentAndAbsolutePathsAreRefused() throws {
        let root = try makeTemporaryFolder(self)
        // The shard really is there, one folder up: it is still not read.
        try FileManager.default.copyItem(at: reference.appendingPathComponent(moved), to: root.appendingPathComponent(moved))
        assertRefused(try folder(in: root, mapping: "../\(moved)"), shard: "../\(moved)", "climbs out of the model folder")
        let absolute = root.appendingPathComponent(moved).path
        let other = try makeTemporaryFolder(self)
        assertRefused(try folder(in: other, mapping: absolute), shard: absolute, "is an absolute path")
    }

    func testLinksOutOfTheFolderAreRefusedButCacheBlobsAreFollowed() throws {
        let root = try makeTemporaryFolder(self)
        let outside = root.appendingPathComponent("elsewhere.safetensors")
        try FileManager.default.copyItem(at: reference.appendingPathComponent(moved), to: outside)
        let linked = try folder(in: root, mapping: "linked.safetensors")
        try FileManager.default.createSymbolicLink(at: linked.appendingPathComponent("linked.safetensors"), withDestinationURL: outside)
        assertRefused(linked, shard: "linked.safetensors", "is a symbolic link to \(outside.resolvingSymlinksInPath().path), outside the model folder")

        // The hub cache: snapshots/<rev>/<file> -> ../../blobs/<hash>.
        let cache = try makeTemporaryFolder(self).appendingPathComponent("models--org--tiny")
        let snapshot = cache.appendingPathComponent("snapshots/abc123")
        let blobs = cache.appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: reference.path) {
            let blob = blobs.appendingPathComponent("hash-\(name)")
            try FileManager.default.copyItem(at: reference.appendingPathComponent(name), to: blob)
            try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path,
                                                       withDestinationPath: "../../blobs/hash-\(name)")
        }
        XCTAssertEqual(try SafetensorsCheckpoint(folder: snapshot).files.count, 2)
        // A link inside the folder is fine too.
        let inside = try folder(in: try makeTemporaryFolder(self), mapping: "alias.safetensors")
        try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("alias.safetensors").path, withDestinationPath: moved)
        XCTAssertEqual(try SafetensorsCheckpoint(folder: inside).files.count, 2)
    }
}
