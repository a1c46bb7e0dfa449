import ArgumentParser
import Foundation
@testable import tailor
import TailorTestSupport
import TailorTraining
import XCTest

/// Every `tailor ...` command line README.md, BENCHMARKS.md and docs/*.md show is one the real
/// parser accepts, so the documents cannot drift from the CLI.
///
/// The rules (see `MarkdownCommandLines` for what counts as a command line, `CommandSynopsis` for
/// the `[ ]`, `|` and `...` notation, expanded into every form it stands for):
/// - each form must parse with `Tailor.parseAsRoot` (validation included; nothing runs), and for
///   `tailor train` its `--key value` pairs must be recipe keys that take those values;
/// - an inline span may also just name a command (`tailor import gguf`) or a command and option
///   names without values (`tailor data --format`): each option must be listed by the `--help`
///   of that command or of one of its subcommands;
/// - `<name>` (as in `tailor help <command>`) stands for each subcommand of the command before it;
/// - commands the README says are not built yet (`notBuilt`) must not exist.
final class DocumentedCommandLineTests: XCTestCase {
    /// Named in README as not built yet; when one is built, drop it here and check what README says.
    static let notBuilt: [String] = []

    static let root = TestPaths.fixtures.deletingLastPathComponent().deletingLastPathComponent()

    static func documentedLines() throws -> [MarkdownCommandLines.Line] {
        let docs = root.appendingPathComponent("docs")
        let names = ["README.md", "BENCHMARKS.md"]
            + (try FileManager.default.contentsOfDirectory(atPath: docs.path)).filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return try names.flatMap { name in
            MarkdownCommandLines.lines(in: try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8), file: name)
        }
    }

    func testEveryDocumentedCommandLineParses() throws {
        let lines = try Self.documentedLines()
        XCTAssertGreaterThan(lines.filter { $0.kind == .code }.count, 10, "too few command lines found in code blocks: the extraction broke")
        XCTAssertGreaterThan(lines.filter { $0.kind == .inline }.count, 20, "too few inline `tailor ...` spans found: the extraction broke")
        for line in lines {
            let words = line.text.split(separator: " ").map(String.init)
            if line.kind == .inline, let first = words.first, Self.notBuilt.contains(first) { continue }
            let forms: [[String]]
            do { forms = try CommandSynopsis.forms(line.text) } catch {
                XCTFail("\(line.file):\(line.line): `tailor \(line.text)`: \(error)")
                continue
            }
            for form in forms.flatMap(Self.expandPlaceholders) {
                if let problem = Self.problem(form, inline: line.kind == .inline) {
                    XCTFail("\(line.file):\(line.line): `tailor \(line.text)`, as `tailor \(form.joined(separator: " "))`: \(problem)")
                }
            }
        }
    }

    func testCommandsNotBuiltDoNotExist() {
        let names = Tailor.configuration.subcommands.compactMap { $0.configuration.commandName }
        for name in Self.notBuilt {
            XCTAssertFalse(names.contains(name), "tailor \(name) exists now: README still lists it as not built; update both")
        }
    }

    /// The notation of README's own synopsis lines expands as documented.
    func testSynopsisExpansion() throws {
        XCTAssertEqual(try CommandSynopsis.forms(#"generate --model M [--adapter A] --prompt "..." | --prompts file.jsonl"#), [
            ["generate", "--model", "M", "--prompt", "..."], ["generate", "--model", "M", "--prompts", "file.jsonl"],
            ["generate", "--model", "M", "--adapter", "A", "--prompt", "..."],
            ["generate", "--model", "M", "--adapter", "A", "--prompts", "file.jsonl"],
        ])
        XCTAssertEqual(try CommandSynopsis.forms("selftest [--device cpu|cuda] [--ops-only]"), [
            ["selftest"], ["selftest", "--ops-only"], ["selftest", "--device", "cpu"], ["selftest", "--device", "cpu", "--ops-only"],
            ["selftest", "--device", "cuda"], ["selftest", "--device", "cuda", "--ops-only"],
        ])
        XCTAssertEqual(try CommandSynopsis.forms("train [--r 16 ...]"), [["train"], ["train", "--r", "16"]])
        XCTAssertThrowsError(try CommandSynopsis.forms("train [--r 16")) { error in
            guard case CommandSynopsis.SyntaxError.unbalanced = error else { return XCTFail("\(error)") }
        }
        let lines = MarkdownCommandLines.lines(in: """
        Run `tailor data
        inspect FILE` first; a table cell: `tailor selftest --device cpu\\|cuda`.

        ```sh
        TAILOR_NUM_THREADS=2 tailor bench step \\
            --preset smollm2-135m   # a comment
        python3 x.py   # runs tailor
        ```

            tailor doctor
        """, file: "x.md")
        XCTAssertEqual(lines.map(\.text), ["bench step --preset smollm2-135m", "doctor", "data inspect FILE", "selftest --device cpu|cuda"])
        XCTAssertEqual(lines.map(\.line), [5, 10, 1, 2])
    }

    /// `<name>` replaced by each subcommand name of the command the words before it select.
    static func expandPlaceholders(_ form: [String]) -> [[String]] {
        guard let index = form.firstIndex(where: { $0.hasPrefix("<") && $0.hasSuffix(">") }) else { return [form] }
        let (command, _) = resolve(Array(form[..<index]).filter { $0 != "help" })
        return command.configuration.subcommands.compactMap { $0.configuration.commandName }
            .flatMap { expandPlaceholders(Array(form[..<index]) + [$0] + form[(index + 1)...]) }
    }

    /// The command the leading words name, and the words after them.
    static func resolve(_ words: [String]) -> (ParsableCommand.Type, [String]) {
        var command: ParsableCommand.Type = Tailor.self
        var rest = words[...]
        while let word = rest.first, let sub = command.configuration.subcommands.first(where: { $0.configuration.commandName == word }) {
            command = sub
            rest.removeFirst()
        }
        return (command, Array(rest))
    }

    /// Why `tailor <form>` is not a valid command line; nil when it is.
    static func problem(_ form: [String], inline: Bool) -> String? {
        let (command, rest) = resolve(form)
        if inline, rest.isEmpty { return nil }
        if inline, rest.allSatisfy({ $0.hasPrefix("-") }) {
            let missing = rest.filter { !optionExists($0, in: command) }
            if missing.isEmpty { return nil }
            if !(command is TrainCommand.Type) {
                return "no option \(missing.joined(separator: ", ")) in the help of tailor \(form.prefix(form.count - rest.count).joined(separator: " ")) or its subcommands"
            }
        }
        let parsed: ParsableCommand
        do { parsed = try Tailor.parseAsRoot(form) } catch {
            if Tailor.exitCode(for: error).isSuccess { return nil }   // --help, --version
            return Tailor.fullMessage(for: error)
        }
        guard let train = parsed as? TrainCommand else { return nil }
        // As TrainCommand.run reads its arguments: --help stops, --dry-run is a flag, a first
        // word that is not an option is the YAML file (not read here: documents name examples).
        var arguments = train.arguments.filter { $0 != "--dry-run" }
        if arguments.contains("--help") || arguments.contains("-h") { return nil }
        if let first = arguments.first, !first.hasPrefix("--") { arguments.removeFirst() }
        do {
            var recipe = TrainRecipe()
            _ = try RecipeKeys.apply(try TrainCommand.parseFlags(arguments), to: &recipe)
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Whether `--name` is an option of `command` (or, for a recipe key, of `tailor train`) or of
    /// one of its subcommands, as their help lists it.
    static func optionExists(_ option: String, in command: ParsableCommand.Type) -> Bool {
        if command is TrainCommand.Type, option.hasPrefix("--"),
           RecipeKeys.entry(String(option.dropFirst(2)).replacingOccurrences(of: "-", with: "_")) != nil {
            return true
        }
        let help = Tailor.helpMessage(for: command, columns: 1000)
        let listed = help.components(separatedBy: "\n").contains { line in
            line.hasPrefix("  -") && line.split(whereSeparator: { $0 == " " || $0 == "," }).contains { $0 == option }
        }
        return listed || command.configuration.subcommands.contains { optionExists(option, in: $0) }
    }
}
