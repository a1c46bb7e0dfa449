import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folder runtime adapter loading may read from (`--adapter-root`), as vLLM allows runtime
/// LoRA loading only when told: a path given to /v1/load_lora_adapter must be relative, have no
/// `..`, and resolve (symbolic links followed) to a folder inside the root.
public struct AdapterRoot: Sendable {
    /// The root with every symbolic link resolved.
    public let path: String

    /// - Throws: `ServerError.adapterRefused` when `folder` is not an existing directory.
    public init(folder: String) throws {
        guard let resolved = Self.realPath(folder), Self.isDirectory(resolved) else {
            throw ServerError.adapterRefused("--adapter-root \(folder) is not an existing folder")
        }
        path = resolved
    }

    /// Checks an adapter name: 1 to 64 of letters, digits, `.`, `_`, `-`, not starting with `.`
    /// (so never `..`, a path or a hidden name).
    /// - Throws: `ServerError.adapterRefused` saying what a name may hold.
    public static func checkName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy(allowed.contains), !name.hasPrefix(".") else {
            throw ServerError.adapterRefused("adapter name '\(name)' is refused: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' (no '/', no '..')")
        }
    }

    /// The folder `relative` names inside the root.
    /// - Throws: `ServerError.adapterRefused` for an absolute path, a `..` part, a path that does not
    ///   exist, or one whose links lead outside the root.
    public func resolve(_ relative: String) throws -> URL {
        guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.hasPrefix("~") else {
            throw ServerError.adapterRefused("adapter path '\(relative)' is refused: give a path relative to --adapter-root, not an absolute one")
        }
        guard !relative.split(separator: "/").contains("..") else {
            throw ServerError.adapterRefused("adapter path '\(relative)' is refused: '..' may not appear in it")
        }
        guard let resolved = Self.realPath(path + "/" + relative) else {
            throw ServerError.adapterRefused("adapter path '\(relative)' does not exist under --adapter-root")
        }
        guard resolved.hasPrefix(path + "/"), Self.isDirectory(resolved) else {
            throw ServerError.adapterRefused("adapter path '\(relative)' is refused: it resolves outside --adapter-root or is not a folder")
        }
        return URL(fileURLWithPath: resolved)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
