import Foundation

/// The chat page served at `/`: Web/index.html from the target's resources, found beside the
/// binary (SwiftPM copies `Tailor_TailorServer.resources` there), read once. Looked up by hand
/// rather than through `Bundle.module`, which stops the process when the folder is missing.
enum WebPage {
    static let resourceFolder = "Tailor_TailorServer.resources"

    /// The page's bytes, or nil when the resources are not beside the binary.
    static let index: [UInt8]? = {
        for folder in candidates() {
            let file = folder.appendingPathComponent(resourceFolder).appendingPathComponent("Web/index.html")
            if let data = FileManager.default.contents(atPath: file.path) { return [UInt8](data) }
        }
        return nil
    }()

    /// Folders that may hold the resource folder: the executable's, and the main bundle's.
    static func candidates() -> [URL] {
        let executable = URL(fileURLWithPath: ProcessInfo.processInfo.arguments.first ?? "").resolvingSymlinksInPath()
        return [executable.deletingLastPathComponent(), Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
    }
}
