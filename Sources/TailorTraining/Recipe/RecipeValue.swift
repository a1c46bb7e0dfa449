/// A configuration value as YAML or a flag gives it.
public enum RecipeValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case list([String])
    case null

    public var description: String {
        switch self {
        case let .string(s): return s
        case let .number(n): return n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)  // allowed: whole and below 1e15 < 2^63, checked on this line
        case let .bool(b): return String(b)
        case let .list(l): return "[" + l.joined(separator: ", ") + "]"
        case .null: return "null"
        }
    }
}

/// Reading a value as the type a key wants; `key` is the spelling the user wrote, named by errors.
extension RecipeValue {
    /// One value as text (a number or boolean as written).
    func text(_ key: String) throws -> String {
        switch self {
        case let .string(s): return s
        case .number, .bool: return description
        default: throw TrainingError.wrongValueType(key: key, expected: "a single value", got: description)
        }
    }

    /// A list: a YAML list, "a,b", or a flow list "[a, b]" written on the command line.
    func list(_ key: String) throws -> [String] {
        switch self {
        case let .list(items): return items
        case let .string(s):
            let inner = s.hasPrefix("[") && s.hasSuffix("]") ? String(s.dropFirst().dropLast()) : s
            return inner.split(separator: ",").map { Self.unquoted(String($0).trimmingSpaces) }.filter { !$0.isEmpty }
        case .number: return [description]
        default: throw TrainingError.wrongValueType(key: key, expected: "a list", got: description)
        }
    }

    func number(_ key: String) throws -> Double {
        switch self {
        case let .number(n): return n
        case let .string(s): if let n = Double(s) { return n }
        default: break
        }
        throw TrainingError.wrongValueType(key: key, expected: "a number", got: description)
    }

    func integer(_ key: String, min: Int) throws -> Int {
        let n = try number(key)
        let expected = "an integer of at least \(min)"
        guard n.rounded() == n else { throw TrainingError.wrongValueType(key: key, expected: expected, got: description) }
        guard n >= Double(min), n < 1e12 else {
            throw TrainingError.invalidValue(key: key, problem: "must be \(expected) (got \(description))")
        }
        return Int(n)  // allowed: min <= n < 1e12 checked just before (NaN fails the check)
    }

    func fraction(_ key: String) throws -> Double {
        let n = try number(key)
        guard (0...1).contains(n) else { throw TrainingError.invalidValue(key: key, problem: "must be between 0 and 1 (got \(description))") }
        return n
    }

    func bool(_ key: String) throws -> Bool {
        switch self {
        case let .bool(b): return b
        case let .string(s) where ["true", "yes", "1"].contains(s.lowercased()): return true
        case let .string(s) where ["false", "no", "0"].contains(s.lowercased()): return false
        case let .number(n): return n != 0
        default: throw TrainingError.wrongValueType(key: key, expected: "true or false", got: description)
        }
    }

    /// `text` without one pair of surrounding quotes ('a' or "a").
    static func unquoted(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == "'" || first == "\"", text.last == first else { return text }
        return String(text.dropFirst().dropLast())
    }

    /// "a, b or c".
    static func wordList(_ words: [String]) -> String {
        guard let last = words.last, words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " or " + last
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
