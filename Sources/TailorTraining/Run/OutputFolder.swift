#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TailorFormats

/// The rules for `output_dir`, checked before the model loads so a run that cannot write its
/// results fails in seconds: it must be a folder (or creatable as one) that this process can
/// write, not the model folder when full fine-tuning would replace the base weights there, and not
/// a folder holding another run's checkpoints unless the run continues it (resume_from_checkpoint)
/// or says to replace it (overwrite_output_dir). While a run trains, `OutputFolder.Lock` keeps a
/// second one out of the folder.
public enum OutputFolder {
    /// The lock file inside output_dir; it holds the PID of the run that has the folder.
    public static let lockFileName = ".tailor.lock"

    /// Checks `folder` (output_dir) for a run of `recipe` on the model in `modelFolder`.
    /// Writes nothing.
    /// - Throws: `TrainingError.unwritableFolder` for a file or a folder that cannot be written,
    ///   `.conflictingKeys` for the model folder under full fine-tuning and for another run's checkpoints.
    public static func check(_ folder: URL, recipe: TrainRecipe, modelFolder: URL) throws {
        try checkWritable(folder)
        if recipe.finetuningType == .full, sameLocation(folder, modelFolder) {
            throw TrainingError.conflictingKeys(key: "output_dir", other: "model_name_or_path",
                                                problem: "is the model folder \(modelFolder.path): full fine-tuning would overwrite the base weights there; choose another output_dir")
        }
        guard !recipe.training.overwriteOutputDir else { return }
        let checkpoints = Checkpoint.list(in: folder)
        guard !checkpoints.isEmpty else { return }
        if let resume = recipe.resumeFromCheckpoint {
            // Continuing this folder's run: `latest`, or one of its own checkpoints.
            if resume == "latest" || sameLocation(URL(fileURLWithPath: resume).deletingLastPathComponent(), folder) { return }
        }
        let names = checkpoints.map { $0.url.lastPathComponent }
        let shown = names.count > 3 ? names.prefix(2).joined(separator: ", ") + ", ... \(names.last ?? "")" : names.joined(separator: ", ")
        throw TrainingError.conflictingKeys(key: "output_dir", other: "overwrite_output_dir",
                                            problem: "\(folder.path) holds another run's checkpoints (\(shown)); to continue that run set resume_from_checkpoint: latest, to replace it set overwrite_output_dir: true, or choose another output_dir")
    }

    /// Fails when `folder` is a file, lies under a file, or cannot be written by this process.
    /// Creates nothing.
    /// - Throws: `TrainingError.unwritableFolder` saying what is wrong.
    public static func checkWritable(_ folder: URL) throws {
        func refuse(_ reason: String) -> TrainingError {
            .unwritableFolder(key: "output_dir", path: folder.path, reason: reason)
        }
        var isFolder: ObjCBool = false
        var existing = folder.standardizedFileURL
        // The folder itself, or the nearest ancestor that exists (the one creating it writes to).
        while !FileManager.default.fileExists(atPath: existing.path, isDirectory: &isFolder) {
            let parent = existing.deletingLastPathComponent()
            if parent.path == existing.path { return }
            existing = parent
        }
        guard isFolder.boolValue else {
            throw refuse(existing.path == folder.standardizedFileURL.path
                         ? "it is a file, not a folder"
                         : "\(existing.path) is a file, so no folder can be made under it")
        }
        guard access(existing.path, W_OK | X_OK) == 0 else {
            let why = String(cString: strerror(errno))
            throw refuse(existing.path == folder.standardizedFileURL.path
                         ? "this user may not write into it: \(why)"
                         : "it would be made in \(existing.path), which this user may not write into: \(why)")
        }
    }

    /// Whether two paths name the same existing folder (`FileIdentity`).
    static func sameLocation(_ a: URL, _ b: URL) -> Bool { FileIdentity.same(a.path, b.path) }

    /// With overwrite_output_dir: removes what a previous run left that a new one would mix with
    /// its own: checkpoint folders (a later `latest` would name one), metrics.jsonl (appended to)
    /// and runs/ (TensorBoard would draw both runs). The rest is replaced as the run writes it.
    static func clearPreviousRun(in folder: URL) throws {
        let files = FileManager.default
        var leftovers = Checkpoint.list(in: folder).map(\.url)
        for name in ["metrics.jsonl", "runs"] { leftovers.append(folder.appendingPathComponent(name)) }
        for url in leftovers where files.fileExists(atPath: url.path) {
            do { try files.removeItem(at: url) } catch {
                throw TrainingError.unwritableFolder(key: "output_dir", path: folder.path,
                                                     reason: "overwrite_output_dir: \(url.lastPathComponent) cannot be removed: \(error.localizedDescription)")
            }
        }
    }

    /// An advisory lock on an output folder (`flock` on `.tailor.lock`), held from before the model
    /// loads until the run ends. The kernel drops it when the process dies, so a killed run never
    /// leaves the folder locked; the file's text (the holder's PID) only names who has it.
    public final class Lock {
        public let file: URL
        private var descriptor: Int32

        /// Creates `folder` if needed and takes its lock, writing this process's PID into it.
        /// - Throws: `TrainingError.folderInUse` naming the PID of the run that has it;
        ///   `.unwritableFolder` when the lock file cannot be made.
        public init(_ folder: URL) throws {
            file = folder.appendingPathComponent(OutputFolder.lockFileName)
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw TrainingError.unwritableFolder(key: "output_dir", path: folder.path, reason: error.localizedDescription)
            }
            descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw TrainingError.unwritableFolder(key: "output_dir", path: folder.path,
                                                     reason: "its lock file \(OutputFolder.lockFileName) cannot be opened: \(String(cString: strerror(errno)))")
            }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let holder = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                close(descriptor)
                throw TrainingError.folderInUse(path: folder.path, pid: holder.flatMap { Int($0) })  // allowed: a String parse, which returns nil instead of trapping
            }
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(descriptor, 0)
            _ = text.withUnsafeBufferPointer { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }

        /// Empties the lock file and releases the lock (also done when the lock is freed).
        public func release() {
            guard descriptor >= 0 else { return }
            _ = ftruncate(descriptor, 0)
            close(descriptor)  // releases the flock
            descriptor = -1
        }

        deinit { release() }
    }
}
