#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Whole-file atomic writes for any layer: temp file in the same folder, fsync, rename.
public enum AtomicWrite {
    /// Replaces the file at `url` with `data`; readers see the old file or the new one, never a part.
    public static func write(_ data: Data, to url: URL) throws {
        let file = try AtomicFile(url: url)
        try data.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}
