#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The weights of a Hugging Face model folder: one `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json` (`weight_map`: tensor name -> shard file name), seen as one set of tensors.
///
/// All shards are mapped and validated when the checkpoint opens, and every tensor in the index is checked
/// to be present in its shard, so lookups afterwards fail only for names the checkpoint does not have.
/// Buffers from `bytes(_:)` are valid while this object is alive.
public final class SafetensorsCheckpoint: Sendable {
    /// The folder, index file or single file this checkpoint was opened from.
    public let url: URL
    /// The index file, when the checkpoint is sharded.
    public let indexURL: URL?
    /// The opened files: the shards in the order of their names, or the single file.
    public let files: [SafetensorsFile]
    /// Tensor names: index (`weight_map`) order for a sharded checkpoint, header order for a single file.
    public let tensorNames: [String]
    /// The `__metadata__` of the first file (usually `["format": "pt"]`).
    public var metadata: [String: String] { files.first?.metadata ?? [:] }

    private let location: [String: Int]

    /// Opens a model folder (index or `model.safetensors`), an index `.json` file, or any single
    /// `.safetensors` file (such as `adapter_model.safetensors`).
    /// - Throws: `FormatError.noSafetensors` for a folder without weights, `.invalidIndex`, `.missingShard`,
    ///   `.tensorMissingFromShard`, or any error of `SafetensorsFile(url:)` for a shard.
    public init(_ url: URL) throws {
        self.url = url
        let path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else { throw FormatError.cannotOpen(path: path, reason: MappedFile.errnoText()) }
        let target: URL
        if (info.st_mode & S_IFMT) == S_IFDIR {
            let index = url.appendingPathComponent("model.safetensors.index.json")
            let single = url.appendingPathComponent("model.safetensors")
            if access(index.path, F_OK) == 0 {
                target = index
            } else if access(single.path, F_OK) == 0 {
                target = single
            } else {
                let found = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                    .filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".safetensors.index.json") }.sorted()
                throw FormatError.noSafetensors(folder: path, found: found)
            }
        } else {
            target = url
        }

        if target.path.hasSuffix(".json") {
            indexURL = target
            let weightMap = try SafetensorsCheckpoint.readWeightMap(target)
            let folder = target.deletingLastPathComponent()
            let shardNames = Array(Set(weightMap.map(\.shard))).sorted()
            for shard in shardNames {
                let tensor = weightMap.first { $0.shard == shard }?.tensor ?? ""
                try SafetensorsCheckpoint.checkInside(folder: folder, shard: shard, index: target.path, tensor: tensor)
            }
            var files: [SafetensorsFile] = []
            var shardIndex: [String: Int] = [:]
            for shard in shardNames {
                let shardURL = folder.appendingPathComponent(shard)
                guard access(shardURL.path, F_OK) == 0 else {
                    throw FormatError.missingShard(index: target.path, shard: shardURL.path)
                }
                shardIndex[shard] = files.count
                files.append(try SafetensorsFile(url: shardURL))
            }
            var location: [String: Int] = [:]
            for (tensor, shard) in weightMap {
                guard let fileIndex = shardIndex[shard] else { continue }  // every shard was opened above
                guard files[fileIndex].info(tensor) != nil else {
                    throw FormatError.tensorMissingFromShard(index: target.path, shard: shard, tensor: tensor)
                }
                location[tensor] = fileIndex
            }
            self.files = files
            self.location = location
            tensorNames = weightMap.map(\.tensor)
        } else {
            indexURL = nil
            let file = try SafetensorsFile(url: target)
            files = [file]
            tensorNames = file.tensorNames
            location = Dictionary(file.tensorNames.map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Same as `init(_:)`; reads as the usual call site `SafetensorsCheckpoint(folder: modelFolder)`.
    public convenience init(folder: URL) throws { try self.init(folder) }

    /// Refuses a shard path that leaves `folder`: absolute, with a `..` component, or a symbolic link
    /// whose target is outside the folder. A link into a Hugging Face cache's `blobs` folder
    /// (`models--org--name/blobs/<hash>`) is how the hub cache and `huggingface-cli download --local-dir`
    /// lay files out, and is followed.
    /// - Throws: `FormatError.shardOutsideFolder` naming the index, the entry and where it leads.
    static func checkInside(folder: URL, shard: String, index: String, tensor: String) throws {
        func refuse(_ problem: String) -> FormatError {
            .shardOutsideFolder(index: index, tensor: tensor, shard: shard, problem: problem)
        }
        if shard.hasPrefix("/") { throw refuse("is an absolute path") }
        if shard.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw refuse("climbs out of the model folder with '..'")
        }
        let path = folder.appendingPathComponent(shard).path
        guard let resolved = realPath(path), let base = realPath(folder.path) else { return }  // missing: missingShard says so
        if resolved == base || resolved.hasPrefix(base.hasSuffix("/") ? base : base + "/") { return }
        let parts = resolved.split(separator: "/")
        if parts.count >= 3, parts[parts.count - 2] == "blobs", parts[parts.count - 3].hasPrefix("models--") { return }
        throw refuse("is a symbolic link to \(resolved), outside the model folder (links are followed only into a Hugging Face"
                     + " cache's blobs); copy the file into the folder")
    }

    /// The path with every symbolic link resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `weight_map` entries in file order.
    private static func readWeightMap(_ index: URL) throws -> [(tensor: String, shard: String)] {
        let file = try MappedFile(url: index)
        let root: JSONValue
        do {
            // A tensor named twice in weight_map is an error, not the last one silently winning.
            root = try JSONValue(parsing: file.all, file: index.path, options: .strict)
        } catch {
            throw FormatError.invalidIndex(path: index.path, detail: error.detail)
        }
        guard case .object = root else {
            throw FormatError.invalidIndex(path: index.path, detail: "the file is a JSON \(root.typeName), not an object")
        }
        guard let map = root["weight_map"] else { throw FormatError.invalidIndex(path: index.path, detail: "no \"weight_map\"") }
        guard case let .object(members) = map else {
            throw FormatError.invalidIndex(path: index.path, detail: "\"weight_map\" is a \(map.typeName), not an object")
        }
        var entries: [(tensor: String, shard: String)] = []
        for (tensor, value) in members {
            guard case let .string(shard) = value, !shard.isEmpty else {
                throw FormatError.invalidIndex(path: index.path,
                                               detail: "weight_map[\"\(tensor)\"] is not a shard file name")
            }
            entries.append((tensor, shard))
        }
        return entries
    }

    /// The file holding tensor `name`, or nil.
    public func file(containing name: String) -> SafetensorsFile? {
        location[name].map { files[$0] }
    }

    /// The header entry of `name`, or nil when no shard has it.
    public func info(_ name: String) -> SafetensorsTensorInfo? { file(containing: name)?.info(name) }

    /// Zero-copy bytes of tensor `name`; valid while this checkpoint is alive (see `SafetensorsFile.bytes`).
    /// - Throws: `FormatError.tensorNotFound` naming the checkpoint.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let file = file(containing: name) else { throw FormatError.tensorNotFound(path: url.path, tensor: name) }
        return try file.bytes(name)
    }

    /// Drops tensor `name`'s mapped pages from the resident set (see `SafetensorsFile.releasePages`).
    public func releasePages(_ name: String) { file(containing: name)?.releasePages(name) }

    /// Tensor `name` as `Float`s (see `SafetensorsFile.floats`).
    public func floats(_ name: String) throws -> [Float] {
        guard let file = file(containing: name) else { throw FormatError.tensorNotFound(path: url.path, tensor: name) }
        return try file.floats(name)
    }
}
