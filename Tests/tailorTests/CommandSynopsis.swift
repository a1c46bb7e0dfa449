/// A documented `tailor ...` line written as a synopsis, expanded into the concrete command lines it
/// stands for, so each can be handed to the real parser.
///
/// The notation, as README.md writes it:
/// - `[...]` is optional: each group is both left out and put in (every combination);
/// - `a|b` inside a word is a choice of words (`--device cpu|cuda`, `inspect|preview`);
/// - a lone `|` is a choice between the option (with its values) before it and the one after it
///   (`--prompt "..." | --prompts file.jsonl`);
/// - an unquoted `...` means "more of the same" and is left out; a quoted `"..."` is a value;
/// - anything else (`M`, `FILE`, `DIR`, `PRESET`) is a value, passed as written.
/// `<name>` placeholders are left as words here; `DocumentedCommandLineTests` expands them.
struct CommandSynopsis {
    /// One word of the line: text, and whether it was quoted (a quoted word is never notation).
    struct Word: Equatable {
        var text: String
        var quoted = false
    }

    indirect enum Node {
        case choice([String])      // one word, or `a|b|c`
        case sequence([Node])
        case optional([Node])
        case either([Node])
    }

    enum SyntaxError: Error, CustomStringConvertible {
        case unbalanced(String)
        case tooManyForms(Int)

        var description: String {
            switch self {
            case let .unbalanced(line): return "unbalanced [ ] in: \(line)"
            case let .tooManyForms(count): return "\(count) forms; write the line with fewer optional groups"
            }
        }
    }

    /// More forms than this is a line too general to check by expansion.
    static let maximumForms = 512

    /// Shell-like words: spaces separate, quotes group (and are removed), `[` and `]` split off.
    static func words(_ line: String) -> [Word] {
        var result: [Word] = []
        var current = "", quote: Character? = nil, quoted = false, started = false
        func flush() {
            if started { result.append(Word(text: current, quoted: quoted)) }
            current = ""; quoted = false; started = false
        }
        for character in line {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character; quoted = true; started = true
            } else if character == " " || character == "\t" {
                flush()
            } else if (character == "[" && !started) || character == "]" {
                flush()
                result.append(Word(text: String(character)))
            } else {
                current.append(character); started = true
            }
        }
        flush()
        return result
    }

    /// Every concrete command line the synopsis stands for (words after notation is removed).
    static func forms(_ line: String) throws -> [[String]] {
        var words = words(line)[...]
        let nodes = try sequence(&words, line: line)
        guard words.isEmpty else { throw SyntaxError.unbalanced(line) }
        let result = try expand(.sequence(nodes))
        guard result.count <= maximumForms else { throw SyntaxError.tooManyForms(result.count) }
        return result
    }

    /// Reads nodes up to a closing `]` (consumed by the caller) or the end.
    private static func sequence(_ words: inout ArraySlice<Word>, line: String) throws -> [Node] {
        // First the items, with lone bars kept as markers (nil).
        var items: [Node?] = []
        while let word = words.first, word.quoted || word.text != "]" {
            words.removeFirst()
            switch (word.quoted, word.text) {
            case (false, "["):
                let inner = try sequence(&words, line: line)
                guard words.first == Word(text: "]") else { throw SyntaxError.unbalanced(line) }
                words.removeFirst()
                items.append(.optional(inner))
            case (false, "|"): items.append(nil)
            case (false, "..."): continue
            case (false, let text) where text.contains("|"):
                items.append(.choice(text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)))
            default: items.append(.choice([word.text]))
            }
        }
        // An option takes the plain words after it as its values: `--output DIR` is one unit.
        var units: [Node?] = []
        for item in items {
            if case let .choice(texts)? = item, !texts.contains(where: { $0.hasPrefix("-") }),
               case let .sequence(unit)?? = units.last, case let .choice(first) = unit[0], first.allSatisfy({ $0.hasPrefix("-") }) {
                units[units.count - 1] = .sequence(unit + [.choice(texts)])
            } else if case let .choice(texts)? = item, texts.allSatisfy({ $0.hasPrefix("-") }) {
                units.append(.sequence([.choice(texts)]))
            } else {
                units.append(item)
            }
        }
        // A lone bar chooses between its neighbours.
        var nodes: [Node] = []
        var index = 0
        while index < units.count {
            guard var node = units[index] else { throw SyntaxError.unbalanced(line) }
            var alternatives = [node]
            while index + 2 < units.count, units[index + 1] == nil, let next = units[index + 2] {
                alternatives.append(next)
                index += 2
            }
            if alternatives.count > 1 { node = .either(alternatives) }
            nodes.append(node)
            index += 1
        }
        return nodes
    }

    private static func expand(_ node: Node) throws -> [[String]] {
        switch node {
        case let .choice(texts): return texts.map { [$0] }
        case let .either(nodes): return try nodes.flatMap(expand)
        case let .optional(nodes): return [[]] + (try expand(.sequence(nodes)))
        case let .sequence(nodes):
            var result: [[String]] = [[]]
            for node in nodes {
                let parts = try expand(node)
                result = result.flatMap { prefix in parts.map { prefix + $0 } }
                guard result.count <= maximumForms else { throw SyntaxError.tooManyForms(result.count) }
            }
            return result
        }
    }
}
