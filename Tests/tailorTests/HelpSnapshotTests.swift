import ArgumentParser
import Foundation
@testable import tailor
import TailorTestSupport
import XCTest

/// Every command's `--help`, as swift-argument-parser renders it at 100 columns, equals the text
/// committed in Tests/Fixtures/help/<command path>.txt (`tailor-data-inspect.txt`): the help is
/// the manual, and a change to it shows in review as a change to these files.
///
/// After changing a help text on purpose: `TAILOR_UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests`
/// rewrites the files (and removes those of commands that are gone); review `git diff Tests/Fixtures/help`.
final class HelpSnapshotTests: XCTestCase {
    static let folder = TestPaths.fixture("help")
    static let columns = 100

    /// Every command under `tailor` with its path of names, parents first.
    static func commands(_ type: ParsableCommand.Type = Tailor.self, path: [String] = []) -> [(path: [String], type: ParsableCommand.Type)] {
        let here = path + [type.configuration.commandName ?? String(describing: type)]
        return [(here, type)] + type.configuration.subcommands.flatMap { commands($0, path: here) }
    }

    static func file(_ path: [String]) -> URL { folder.appendingPathComponent(path.joined(separator: "-") + ".txt") }

    static var updating: Bool { ProcessInfo.processInfo.environment["TAILOR_UPDATE_SNAPSHOTS"] == "1" }

    func testEveryCommandsHelpEqualsItsSnapshot() throws {
        let commands = Self.commands()
        if Self.updating { try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true) }
        for (path, type) in commands {
            let help = Tailor.helpMessage(for: type, columns: Self.columns) + "\n"
            let url = Self.file(path)
            if Self.updating {
                try Data(help.utf8).write(to: url, options: .atomic)
                continue
            }
            guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
                XCTFail("\(url.path) is missing: run TAILOR_UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests to write it, then review it")
                continue
            }
            if help != expected {
                XCTFail("""
                `\(path.joined(separator: " ")) --help` differs from \(url.lastPathComponent) at \(Self.firstDifference(help, expected)).
                If the change is intended: TAILOR_UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests, then review git diff Tests/Fixtures/help.
                --- rendered now:
                \(help)
                """)
            }
        }
        // No snapshot of a command that no longer exists.
        let wanted = Set(commands.map { Self.file($0.path).lastPathComponent })
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.folder.path) where !wanted.contains(name) {
            if Self.updating { try FileManager.default.removeItem(at: Self.folder.appendingPathComponent(name)) } else {
                XCTFail("Tests/Fixtures/help/\(name) belongs to no command: delete it (or run with TAILOR_UPDATE_SNAPSHOTS=1)")
            }
        }
    }

    /// The snapshots cover the commands the CLI is known to have (a command dropped from a
    /// `subcommands:` list would otherwise take its snapshot with it unnoticed).
    func testTheCommandTreeHasEveryKnownCommand() {
        let paths = Set(Self.commands().map { $0.path.joined(separator: " ") })
        for expected in ["tailor", "tailor train", "tailor download", "tailor plan", "tailor generate", "tailor chat", "tailor eval", "tailor merge", "tailor data",
                         "tailor data inspect", "tailor data preview", "tailor data clean", "tailor data split", "tailor data bench",
                         "tailor import", "tailor import gguf", "tailor export", "tailor export gguf", "tailor bench", "tailor bench step", "tailor bench train",
                         "tailor bench generate", "tailor bench tokenize", "tailor selftest", "tailor doctor"] {
            XCTAssertTrue(paths.contains(expected), "no command \(expected) in the tree: \(paths.sorted())")
        }
    }

    /// "line 3: rendered '…' / snapshot '…'" for the first line that differs.
    static func firstDifference(_ actual: String, _ expected: String) -> String {
        let a = actual.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
        for i in 0..<max(a.count, e.count) where (i < a.count ? a[i] : nil) != (i < e.count ? e[i] : nil) {
            return "line \(i + 1): rendered '\(i < a.count ? a[i] : "(end)")', snapshot '\(i < e.count ? e[i] : "(end)")'"
        }
        return "(no line differs)"
    }
}
