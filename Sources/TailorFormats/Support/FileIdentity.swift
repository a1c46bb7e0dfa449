#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether two paths name one file or folder: the same device and inode, so a relative path, a
/// symbolic link or a hard link to it counts as the same. A path that does not exist is never the
/// same as anything (writing it cannot touch the other).
public enum FileIdentity {
    public static func same(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }
}
