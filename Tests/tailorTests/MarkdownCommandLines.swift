import Foundation

/// The `tailor ...` command lines a Markdown file shows: in code blocks (fenced, or indented by
/// four spaces) a line whose command is `tailor` (after `$ ` and `NAME=value` prefixes, with
/// `\` continuations joined and a trailing `# comment` removed), and in prose every inline code
/// span that starts with `tailor` (a span may cross a line break; `\|`, a table's escaped bar, is `|`).
struct MarkdownCommandLines {
    struct Line {
        enum Kind { case code, inline }
        var file: String
        var line: Int
        var kind: Kind
        /// The words after `tailor`, as written (synopsis notation and all).
        var text: String
    }

    static func lines(in markdown: String, file: String) -> [Line] {
        var result: [Line] = []
        var prose: [(line: Int, text: String)] = []
        var fence: String? = nil
        var pending: (line: Int, text: String)? = nil   // a code line ending in `\`
        var previousBlank = true, inIndentedBlock = false
        for (offset, raw) in markdown.components(separatedBy: "\n").enumerated() {
            let number = offset + 1
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                if trimmed.hasPrefix(open) { fence = nil; previousBlank = false; continue }
            } else if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix(3)); inIndentedBlock = false; previousBlank = false
                continue
            }
            let indented = raw.hasPrefix("    ") || raw.hasPrefix("\t")
            inIndentedBlock = fence == nil && indented && !trimmed.isEmpty && (previousBlank || inIndentedBlock)
            previousBlank = trimmed.isEmpty
            guard fence != nil || inIndentedBlock else {
                prose.append((number, raw))
                continue
            }
            var text = trimmed
            if let start = pending { text = start.text + " " + text }
            if text.hasSuffix("\\") {
                pending = (pending?.line ?? number, String(text.dropLast()))
                continue
            }
            let first = pending?.line ?? number
            pending = nil
            if let command = tailorCommand(stripComment(text)) {
                result.append(Line(file: file, line: first, kind: .code, text: command))
            }
        }
        result += inlineSpans(prose, file: file)
        return result
    }

    /// The words after `tailor` when the line runs tailor, else nil.
    static func tailorCommand(_ line: String) -> String? {
        var words = line.split(separator: " ", omittingEmptySubsequences: true)[...]
        if words.first == "$" { words.removeFirst() }
        while let word = words.first, let equals = word.firstIndex(of: "="), word[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              !word.hasPrefix("-") {
            words.removeFirst()
        }
        guard words.first == "tailor" else { return nil }
        return words.dropFirst().joined(separator: " ")
    }

    /// The line without a `# comment` (a `#` after a space, outside quotes).
    static func stripComment(_ line: String) -> String {
        var quote: Character? = nil, previous: Character = " "
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" && previous == " " {
                return String(line[..<index]).trimmingCharacters(in: .whitespaces)
            }
            previous = character
        }
        return line
    }

    /// Inline code spans of the prose that start with `tailor`.
    static func inlineSpans(_ prose: [(line: Int, text: String)], file: String) -> [Line] {
        var result: [Line] = []
        var open: (line: Int, text: String)? = nil
        var previousLine = 0
        for (number, text) in prose {
            // A span does not continue across a blank line or past a code block.
            if text.trimmingCharacters(in: .whitespaces).isEmpty || number != previousLine + 1 { open = nil }
            previousLine = number
            for character in text {
                if character == "`" {
                    if let span = open {
                        let content = span.text.replacingOccurrences(of: "\\|", with: "|")
                            .trimmingCharacters(in: .whitespaces)
                        if content == "tailor" || content.hasPrefix("tailor ") {
                            result.append(Line(file: file, line: span.line, kind: .inline,
                                               text: String(content.dropFirst("tailor".count)).trimmingCharacters(in: .whitespaces)))
                        }
                        open = nil
                    } else {
                        open = (number, "")
                    }
                } else if var span = open {
                    span.text.append(character)
                    open = span
                }
            }
            if var span = open {
                span.text.append(" ")
                open = span
            }
        }
        return result
    }
}
