/// Python methods templates call on strings, dicts and lists. Methods that would change a list or
/// dict are refused, as transformers' `ImmutableSandboxedEnvironment` refuses them.
enum Methods {
    static func method(_ name: String, _ body: @escaping (Arguments) throws -> Value) -> Value {
        .callable(Callable(name) { args, _ in try body(args) })
    }

    static func unsafe(_ name: String, _ type: String) -> Value {
        .undefined(hint: "access to attribute '\(name)' of '\(type)' object is unsafe.")
    }

    static func string(_ v: Value, _ function: String) throws -> String {
        if case .string(let s) = v { return s }
        throw RawTemplateError(.type, "\(function)() argument must be str, not \(v.typeName)")
    }

    static func optionalString(_ v: Value, _ function: String) throws -> String? {
        if case .none = v { return nil }
        return try string(v, function)
    }

    static func int(_ v: Value, _ function: String) throws -> Int {
        if let i = v.intIndex { return i }
        throw RawTemplateError(.type, "\(function)(): '\(v.typeName)' object cannot be interpreted as an integer")
    }

    // MARK: str

    static func stringMethod(_ s: String, _ name: String) -> Value? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return method(name) { args in
                let chars = try optionalString(try args.bind(name, [("chars", Value.none)])[0], name)
                return .string(PyString.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "upper": return method(name) { _ in .string(PyString.upper(s)) }
        case "lower", "casefold": return method(name) { _ in .string(PyString.lower(s)) }
        case "title": return method(name) { _ in .string(PyString.title(s)) }
        case "capitalize": return method(name) { _ in .string(PyString.capitalize(s)) }
        case "startswith", "endswith":
            return method(name) { args in
                let a = try args.bind(name, [("prefix", nil), ("start", Value.none), ("end", Value.none)])
                var scalars = Array(s.unicodeScalars)
                let indices = try PyString.sliceIndices(
                    count: scalars.count, start: a[1].intIndex, stop: a[2].intIndex, step: 1)
                scalars = indices.map { scalars[$0] }
                let candidates: [Value]
                if case .list(let items) = a[0].plain { candidates = items } else { candidates = [a[0]] }
                for candidate in candidates {
                    let p = Array(try string(candidate, name).unicodeScalars)
                    if name == "startswith" ? scalars.starts(with: p) : scalars.reversed().starts(with: p.reversed()) {
                        return .bool(true)
                    }
                }
                return .bool(false)
            }
        case "split", "rsplit":
            return method(name) { args in
                let a = try args.bind(name, [("sep", Value.none), ("maxsplit", Value.int(-1))])
                let sep = try optionalString(a[0], name)
                let max = try int(a[1], name)
                let parts = name == "split"
                    ? try PyString.split(s, sep: sep, maxsplit: max) : try PyString.rsplit(s, sep: sep, maxsplit: max)
                return .list(parts.map { .string($0) })
            }
        case "splitlines": return method(name) { _ in .list(PyString.splitlines(s).map { .string($0) }) }
        case "replace":
            return method(name) { args in
                let a = try args.bind(name, [("old", nil), ("new", nil), ("count", Value.int(-1))])
                return .string(PyString.replace(s, try string(a[0], name), try string(a[1], name), count: try int(a[2], name)))
            }
        case "find", "rfind", "index", "rindex", "count":
            return method(name) { args in
                let a = try args.bind(name, [("sub", nil), ("start", Value.none), ("end", Value.none)])
                let hay = Array(s.unicodeScalars)
                let needle = Array(try string(a[0], name).unicodeScalars)
                let start = a[1].intIndex.map { $0 < 0 ? max(0, $0 + hay.count) : min($0, hay.count) } ?? 0
                let end = a[2].intIndex.map { $0 < 0 ? max(0, $0 + hay.count) : min($0, hay.count) } ?? hay.count
                if name == "count" {
                    guard start <= end else { return .int(0) }
                    return .int(PyString.count(PyString.string(hay[start..<end]), PyString.string(needle)))
                }
                var found: Int?
                if start <= end {
                    if name.hasPrefix("r") {
                        found = PyString.rfind(Array(hay[start..<end]), needle).map { $0 + start }
                    } else {
                        found = PyString.find(hay, needle, from: start, to: end)
                    }
                }
                if let found { return .int(found) }
                if name.hasSuffix("index") { throw RawTemplateError(.runtime, "ValueError: substring not found") }
                return .int(-1)
            }
        case "join":
            return method(name) { args in
                let a = try args.bind(name, [("iterable", nil)])
                let items: [Value]
                switch a[0].plain {
                case .list(let l), .generator(let l): items = l
                case .string(let t): items = t.unicodeScalars.map { .string(String(Character($0))) }
                default: throw RawTemplateError(.type, "can only join an iterable")
                }
                return .string(try items.map { try string($0, "join") }.joined(separator: s))
            }
        case "format":
            return method(name) { args in .string(try braceFormat(s, args)) }
        case "isdigit", "isnumeric", "isdecimal":
            return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil }) }
        case "isalpha":
            return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic }) }
        case "isalnum":
            return method(name) { _ in
                .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
            }
        case "isspace": return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(PyString.isSpace)) }
        case "islower": return method(name) { _ in .bool(PyString.lower(s) == s && PyString.upper(s) != s) }
        case "isupper": return method(name) { _ in .bool(PyString.upper(s) == s && PyString.lower(s) != s) }
        case "removeprefix", "removesuffix":
            return method(name) { args in
                let affix = try string(try args.bind(name, [("affix", nil)])[0], name)
                let h = Array(s.unicodeScalars)
                let p = Array(affix.unicodeScalars)
                if name == "removeprefix", h.starts(with: p) { return .string(PyString.string(h.dropFirst(p.count))) }
                if name == "removesuffix", !p.isEmpty, h.reversed().starts(with: p.reversed()) {
                    return .string(PyString.string(h.dropLast(p.count)))
                }
                return .string(s)
            }
        case "partition", "rpartition":
            return method(name) { args in
                let sep = try string(try args.bind(name, [("sep", nil)])[0], name)
                let h = Array(s.unicodeScalars)
                let n = Array(sep.unicodeScalars)
                let at = name == "partition" ? PyString.find(h, n) : PyString.rfind(h, n)
                guard let at else {
                    return name == "partition" ? .list([.string(s), .string(""), .string("")]) : .list([.string(""), .string(""), .string(s)])
                }
                return .list([.string(PyString.string(h[..<at])), .string(sep), .string(PyString.string(h[(at + n.count)...]))])
            }
        case "center", "ljust", "rjust", "zfill":
            return method(name) { args in
                let a = try args.bind(name, [("width", nil), ("fillchar", Value.string(" "))])
                let width = try int(a[0], name)
                let fill = name == "zfill" ? "0" : try string(a[1], name)
                let count = s.unicodeScalars.count
                guard width > count else { return .string(s) }
                let pad = width - count
                switch name {
                case "ljust": return .string(s + (try RenderLimits.repeated(fill, pad, name)))
                case "rjust", "zfill": return .string((try RenderLimits.repeated(fill, pad, name)) + s)
                default:
                    let left = pad / 2 + (pad & width & 1)
                    return .string((try RenderLimits.repeated(fill, left, name)) + s + (try RenderLimits.repeated(fill, pad - left, name)))
                }
            }
        default: return nil
        }
    }

    // MARK: dict

    static func dictMethod(_ dict: Dict, _ name: String) -> Value? {
        switch name {
        case "items": return method(name) { _ in .list(dict.items.map { .tuple([$0.0, $0.1]) }) }
        case "keys": return method(name) { _ in .list(dict.keyValues) }
        case "values": return method(name) { _ in .list(dict.values) }
        case "get":
            return method(name) { args in
                let a = try args.bind(name, [("key", nil), ("default", Value.none)])
                return dict[value: a[0]] ?? a[1]
            }
        case "copy": return method(name) { _ in .dict(dict) }
        case "pop", "popitem", "setdefault", "update", "clear": return unsafe(name, "dict")
        default: return nil
        }
    }

    // MARK: list

    static func listMethod(_ items: [Value], _ name: String) -> Value? {
        switch name {
        case "index":
            return method(name) { args in
                let a = try args.bind(name, [("value", nil)])
                guard let i = items.firstIndex(where: { $0.pyEquals(a[0]) }) else {
                    throw RawTemplateError(.runtime, "ValueError: \(a[0].pyRepr) is not in list")
                }
                return .int(i)
            }
        case "count":
            return method(name) { args in
                let a = try args.bind(name, [("value", nil)])
                return .int(items.filter { $0.pyEquals(a[0]) }.count)
            }
        case "copy": return method(name) { _ in .list(items) }
        case "append", "pop", "extend", "insert", "remove", "clear", "sort", "reverse": return unsafe(name, "list")
        default: return nil
        }
    }

    // MARK: formatting

    /// `str.format` with `{}`, `{0}`, `{name}`, `{{`/`}}` and the `s`/`d`/`f`/padding specs.
    static func braceFormat(_ format: String, _ args: Arguments) throws -> String {
        var out = ""
        var auto = 0
        let chars = Array(format)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count && chars[i + 1] == "{" {
                    out.append("{")
                    i += 2
                    continue
                }
                guard let close = chars[i...].firstIndex(of: "}") else {
                    throw RawTemplateError(.runtime, "ValueError: Single '{' encountered in format string")
                }
                let field = String(chars[(i + 1)..<close])
                let parts = field.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(parts[0])
                let spec = parts.count > 1 ? String(parts[1]) : ""
                let value: Value
                if key.isEmpty {
                    guard auto < args.positional.count else {
                        throw RawTemplateError(.runtime, "IndexError: Replacement index \(auto) out of range for positional args tuple")
                    }
                    value = args.positional[auto]
                    auto += 1
                } else if let n = Int(key) {
                    guard n < args.positional.count else {
                        throw RawTemplateError(.runtime, "IndexError: Replacement index \(n) out of range for positional args tuple")
                    }
                    value = args.positional[n]
                } else {
                    guard let v = args.keyword.first(where: { $0.0 == key })?.1 else {
                        throw RawTemplateError(.runtime, "KeyError: '\(key)'")
                    }
                    value = v
                }
                out += try formatSpec(value, spec)
                i = close + 1
            } else if c == "}" {
                if i + 1 < chars.count && chars[i + 1] == "}" {
                    out.append("}")
                    i += 2
                    continue
                }
                throw RawTemplateError(.runtime, "ValueError: Single '}' encountered in format string")
            } else {
                out.append(c)
                i += 1
            }
        }
        return out
    }

    private static func formatSpec(_ value: Value, _ spec: String) throws -> String {
        if spec.isEmpty { return value.pyStr }
        var spec = Substring(spec)
        var type: Character?
        if let last = spec.last, last.isLetter {
            type = last
            spec = spec.dropLast()
        }
        var precision: Int?
        if let dot = spec.firstIndex(of: ".") {
            precision = Int(spec[spec.index(after: dot)...])  // allowed: a String parse (optional: nil when it does not fit)
            spec = spec[..<dot]
        }
        var align: Character?
        var fill: Character = " "
        if spec.count >= 2, let second = spec.dropFirst().first, "<>^".contains(second) {
            fill = spec.first ?? " "
            align = second
            spec = spec.dropFirst(2)
        } else if let first = spec.first, "<>^".contains(first) {
            align = first
            spec = spec.dropFirst()
        }
        let width = Int(spec) ?? 0
        var text: String
        switch type {
        case "f", "F":
            guard let d = value.numeric else { throw RawTemplateError(.runtime, "ValueError: Unknown format code 'f'") }
            text = try formatFixed(d, precision ?? 6)
        case "d":
            guard let i = value.intIndex else { throw RawTemplateError(.runtime, "ValueError: Unknown format code 'd'") }
            text = String(i)
        default:
            text = value.pyStr
            if let precision { text = String(text.prefix(precision)) }
        }
        let pad = max(0, width - text.unicodeScalars.count)
        let isNumber = value.numeric != nil && type != "s"
        switch align ?? (isNumber ? ">" : "<") {
        case ">": return try RenderLimits.repeated(String(fill), pad, "format") + text
        case "^": return try RenderLimits.repeated(String(fill), pad / 2, "format") + text + RenderLimits.repeated(String(fill), pad - pad / 2, "format")
        default: return text + (try RenderLimits.repeated(String(fill), pad, "format"))
        }
    }

    static func formatFixed(_ d: Double, _ precision: Int) throws -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        try RenderLimits.checkLength(precision, "a format precision")
        // Correctly rounded fixed notation without Foundation's locale-dependent formatting.
        let scaled = (Swift.abs(d) * pow(10, Double(precision))).rounded(.toNearestOrEven)
        // Beyond 2^53 the scaled value is no longer exact: C's printf gives the exact binary expansion, as Python does.
        guard scaled <= 9e15 else { return String(format: "%.\(precision)f", d) }
        let digits = String(Int(scaled))  // allowed: 0 <= scaled <= 9e15, checked just before
        let padded = (try RenderLimits.repeated("0", precision + 1 - digits.count, "a format precision")) + digits
        let split = padded.index(padded.endIndex, offsetBy: -precision)
        let sign = d < 0 && scaled != 0 ? "-" : ""
        return precision == 0 ? sign + padded : sign + padded[..<split] + "." + padded[split...]
    }

    /// Python `%` formatting for `'...' % value` (`%s`, `%d`, `%r`, `%f`, `%%`).
    static func percentFormat(_ format: String, _ value: Value) throws -> String {
        var values: [Value]
        if case .tuple(let items) = value { values = items } else { values = [value] }
        var out = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            var precision: Int?
            var digits = ""
            while let d = chars.first, d.isNumber || d == "." {
                digits.append(d)
                chars.removeFirst()
            }
            if let dot = digits.firstIndex(of: ".") { precision = Int(digits[digits.index(after: dot)...]) }  // allowed: a String parse (optional: nil when it does not fit)
            guard let code = chars.popFirst() else { throw RawTemplateError(.runtime, "ValueError: incomplete format") }
            if code == "%" {
                out.append("%")
                continue
            }
            guard !values.isEmpty else {
                throw RawTemplateError(.type, "not enough arguments for format string")
            }
            let v = values.removeFirst()
            switch code {
            case "s": out += v.pyStr
            case "r": out += v.pyRepr
            case "d", "i":
                guard let n = v.numeric else { throw RawTemplateError(.type, "%d format: a real number is required") }
                out += String(try RenderLimits.truncatedInt(n, "%d format"))
            case "f":
                guard let n = v.numeric else { throw RawTemplateError(.type, "must be real number") }
                out += try formatFixed(n, precision ?? 6)
            default: throw RawTemplateError(.runtime, "ValueError: unsupported format character '\(code)'")
            }
        }
        return out
    }
}

import Foundation
