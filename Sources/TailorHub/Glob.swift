/// Python's `fnmatch.fnmatch` on POSIX (case-sensitive), as huggingface_hub's `filter_repo_objects` uses it for
/// `allow_patterns` / `ignore_patterns`: `*` matches any run of characters, `/` included; `?` one character;
/// `[abc]`, `[a-z]`, `[!abc]` one of a set. A pattern ending in `/` stands for everything under that folder.
public struct Glob: Sendable, Hashable {
    public let pattern: String
    private let characters: [Character]

    public init(_ pattern: String) {
        self.pattern = pattern
        characters = Array(pattern.hasSuffix("/") ? pattern + "*" : pattern)
    }

    public func matches(_ text: String) -> Bool { Self.match(characters[...], Array(text)[...]) }

    private static func match(_ pattern: ArraySlice<Character>, _ text: ArraySlice<Character>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        switch first {
        case "*":
            let rest = pattern.dropFirst()
            if rest.isEmpty { return true }
            var tail = text
            while true {
                if match(rest, tail) { return true }
                if tail.isEmpty { return false }
                tail = tail.dropFirst()
            }
        case "?":
            return !text.isEmpty && match(pattern.dropFirst(), text.dropFirst())
        case "[":
            guard let c = text.first, let (matched, rest) = matchSet(pattern.dropFirst(), c) else {
                // fnmatch treats a `[` without its `]` as the character itself.
                return text.first == "[" && match(pattern.dropFirst(), text.dropFirst())
            }
            return matched && match(rest, text.dropFirst())
        default:
            return text.first == first && match(pattern.dropFirst(), text.dropFirst())
        }
    }

    /// `set` starts after `[`; nil when it has no closing `]`.
    private static func matchSet(_ set: ArraySlice<Character>, _ c: Character) -> (Bool, ArraySlice<Character>)? {
        var rest = set
        var negate = false
        if rest.first == "!" { negate = true; rest = rest.dropFirst() }
        var matched = false
        var first = true
        while let item = rest.first {
            if item == "]" && !first { return (matched != negate, rest.dropFirst()) }
            first = false
            rest = rest.dropFirst()
            if rest.count >= 2, rest.first == "-", let upper = rest.dropFirst().first, upper != "]" {
                if item <= c && c <= upper { matched = true }
                rest = rest.dropFirst(2)
            } else if item == c {
                matched = true
            }
        }
        return nil
    }

    /// `filter_repo_objects`: kept when some include matches (or there are none) and no exclude matches.
    public static func filter(_ paths: [String], include: [String], exclude: [String]) -> [String] {
        let allow = include.map(Glob.init), ignore = exclude.map(Glob.init)
        return paths.filter { path in
            (allow.isEmpty || allow.contains { $0.matches(path) }) && !ignore.contains { $0.matches(path) }
        }
    }
}
