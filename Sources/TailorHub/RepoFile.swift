import Foundation
import TailorJSON

/// One file of a repository at a commit, as the tree API lists it (`{"type": "file", "oid", "size", "path",
/// "lfs": {"oid", "size"}}`) and as huggingface_hub caches it in trees/<commit>.json.
public struct RepoFile: Hashable, Sendable {
    public var path: String
    public var size: Int64
    /// The git blob id (sha1): the ETag of a file stored in git.
    public var blobID: String
    /// For LFS files, the content's sha256: their ETag (`X-Linked-Etag`) and the checksum Tailor verifies.
    public var lfsSHA256: String?

    public init(path: String, size: Int64, blobID: String, lfsSHA256: String? = nil) {
        self.path = path
        self.size = size
        self.blobID = blobID
        self.lfsSHA256 = lfsSHA256
    }

    /// The blob name huggingface_hub gives this file (what the resolve endpoint's ETag carries).
    public var etag: String { lfsSHA256 ?? blobID }

    /// An entry of the tree API's JSON array; nil for folders.
    init?(treeEntry value: JSONValue, url: String) throws {
        guard value["type"]?.stringValue == "file" else { return nil }
        guard let path = value["path"]?.stringValue, let size = value["size"]?.integer(as: Int64.self), let oid = value["oid"]?.stringValue else {
            throw HubError.badResponse(url: url, problem: "a tree entry without path, size or oid: \(value.text())")
        }
        self.init(path: path, size: value["lfs"]?["size"]?.integer(as: Int64.self) ?? size, blobID: oid, lfsSHA256: value["lfs"]?["oid"]?.stringValue)
    }
}

extension HubCache {
    /// huggingface_hub's `write_tree_cache`: `{"format_version": 1, "files": {path: {size, blob_id[, lfs_sha256, lfs_size]}}}`,
    /// sorted by path, `json.dump(indent=1)`.
    public func recordTree(_ files: [RepoFile], commit: String) throws {
        let members: [(String, JSONValue)] = files.sorted { $0.path < $1.path }.map { file in
            var info: [(String, JSONValue)] = [("size", .int(Int(file.size))), ("blob_id", .string(file.blobID))]  // allowed: sizes fit in Int on 64-bit
            if let sha = file.lfsSHA256 { info += [("lfs_sha256", .string(sha)), ("lfs_size", .int(Int(file.size)))] }  // allowed: as above
            return (file.path, .object(JSONObject(info)))
        }
        let value = JSONValue.object(JSONObject([("format_version", .int(1)), ("files", .object(JSONObject(members)))]))
        try writeAtomically(value.bytes(JSONFormat(indent: " ", ensureASCII: true)), to: tree(commit))
    }

    /// The listing recorded for `commit`, or nil when there is none (or it is not one this code reads).
    public func recordedTree(_ commit: String) -> [RepoFile]? {
        guard let data = FileManager.default.contents(atPath: tree(commit).path),
              let value = try? JSONValue(parsing: [UInt8](data), file: tree(commit).path),
              value["format_version"]?.intValue == 1, let files = value["files"]?.objectValue else { return nil }
        var result: [RepoFile] = []
        for (path, info) in files {
            guard let size = info["size"]?.integer(as: Int64.self), let blob = info["blob_id"]?.stringValue else { return nil }
            result.append(RepoFile(path: path, size: size, blobID: blob, lfsSHA256: info["lfs_sha256"]?.stringValue))
        }
        return result
    }
}
