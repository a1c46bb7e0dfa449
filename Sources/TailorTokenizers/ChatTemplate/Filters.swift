import TailorJSON

/// jinja2's built-in filters that chat templates use, plus transformers' `tojson` override
/// (`json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`).
enum Filters {
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "first", "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list",
        "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
        "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
    ]

    static func apply(_ name: String, _ input: Value, _ args: Arguments, _ r: Renderer) throws -> Value {
        let value = input.plain
        func bind(_ parameters: [(String, Value?)]) throws -> [Value] { try args.bind(name, parameters) }
        switch name {
        case "trim":
            let a = try bind([("chars", Value.none)])
            return .string(PyString.strip(value.pyStr, chars: try Methods.optionalString(a[0], name), leading: true, trailing: true))
        case "length", "count":
            return .int(try r.length(value))
        case "upper": return .string(PyString.upper(value.pyStr))
        case "lower": return .string(PyString.lower(value.pyStr))
        case "capitalize": return .string(PyString.capitalize(value.pyStr))
        case "title": return .string(jinjaTitle(value.pyStr))
        case "string": return .string(value.pyStr)
        case "safe": return .markup(value.pyStr)
        case "e", "escape", "forceescape":
            if case .markup = input, name != "forceescape" { return input }
            return .markup(htmlEscape(value.pyStr))
        case "default", "d":
            let a = try bind([("default_value", .string("")), ("boolean", .bool(false))])
            if value.isUndefined || (a[1].truthy && !value.truthy) { return a[0] }
            return value
        case "join":
            let a = try bind([("d", .string("")), ("attribute", Value.none)])
            var items = try r.iterate(value)
            if case .none = a[1] {} else { items = try items.map { try attributeGetter(a[1], $0, r) } }
            return .string(items.map(\.pyStr).joined(separator: a[0].pyStr))
        case "replace":
            let a = try bind([("old", nil), ("new", nil), ("count", Value.none)])
            return .string(PyString.replace(value.pyStr, a[0].pyStr, a[1].pyStr, count: a[2].intIndex ?? -1))
        case "int":
            let a = try bind([("default", .int(0)), ("base", .int(10))])
            return try toInt(value, default: a[0], base: a[1].intIndex ?? 10)
        case "float":
            let a = try bind([("default", .double(0))])
            return toFloat(value) ?? a[0]
        case "list":
            return .list(try r.iterate(value))
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.items.map { .tuple([$0.0, $0.1]) })
            default: throw RawTemplateError(.type, "Can only get item pairs from a mapping.")
            }
        case "first":
            return try r.iterate(value).first ?? .undefined(hint: "No first item, sequence was empty.")
        case "last":
            if case .generator = value { throw RawTemplateError(.type, "'generator' object is not reversible") }
            return try r.iterate(value).last ?? .undefined(hint: "No last item, sequence was empty.")
        case "reverse":
            if case .string(let s) = value { return .string(PyString.string(s.unicodeScalars.reversed())) }
            return .generator(try r.iterate(value).reversed())
        case "map":
            guard value.truthy else { return .generator([]) }
            let items = try r.iterate(value)
            if let attribute = args.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = args.keyword.first(where: { $0.0 == "default" })?.1
                return .generator(try items.map { item in
                    let v = try attributeGetter(attribute, item, r)
                    if v.isUndefined, let fallback { return fallback }
                    return v
                })
            }
            guard case .string(let filter)? = args.positional.first else {
                throw RawTemplateError(.type, "map() requires a filter name or attribute=")
            }
            let rest = Arguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            guard names.contains(filter) else { throw RawTemplateError(.unknownFilter, "No filter named '\(filter)'.") }
            return .generator(try items.map { try apply(filter, $0, rest, r) })
        case "select", "reject":
            guard value.truthy else { return .generator([]) }
            let items = try r.iterate(value)
            let keep = name == "select"
            guard case .string(let test)? = args.positional.first else {
                return .generator(items.filter { $0.truthy == keep })
            }
            let rest = Arguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            return .generator(try items.filter { try JinjaTests.apply(test, $0, rest, r) == keep })
        case "selectattr", "rejectattr":
            guard value.truthy else { return .generator([]) }
            let items = try r.iterate(value)
            let keep = name == "selectattr"
            guard let attribute = args.positional.first else {
                throw RawTemplateError(.type, "\(name)() requires an attribute name")
            }
            let test: String? = args.positional.count > 1 ? args.positional[1].pyStr : nil
            let rest = Arguments(positional: Array(args.positional.dropFirst(2)), keyword: args.keyword)
            return .generator(try items.filter { item in
                let v = try attributeGetter(attribute, item, r)
                guard let test else { return v.truthy == keep }
                return try JinjaTests.apply(test, v, rest, r) == keep
            })
        case "unique":
            let a = try bind([("case_sensitive", .bool(false)), ("attribute", Value.none)])
            var seen: [Value] = []
            var out: [Value] = []
            for item in try r.iterate(value) {
                var key = a[1].isNoneValue ? item : try attributeGetter(a[1], item, r)
                if !a[0].truthy, case .string(let s) = key { key = .string(PyString.lower(s)) }
                if !seen.contains(where: { $0.pyEquals(key) }) {
                    seen.append(key)
                    out.append(item)
                }
            }
            return .generator(out)
        case "sort":
            let a = try bind([("reverse", .bool(false)), ("case_sensitive", .bool(false)), ("attribute", Value.none)])
            let items = try r.iterate(value)
            let keys = try items.map { item -> Value in
                let key = a[2].isNoneValue ? item : try attributeGetter(a[2], item, r)
                if !a[1].truthy, case .string(let s) = key { return .string(PyString.lower(s)) }
                return key
            }
            return .list(try stableSort(Array(zip(keys, items)), reverse: a[0].truthy).map { $0.1 })
        case "dictsort":
            let a = try bind([("case_sensitive", .bool(false)), ("by", .string("key")), ("reverse", .bool(false))])
            guard case .dict(let d) = value else { throw RawTemplateError(.type, "dictsort: value is not a mapping") }
            let byValue = a[1].pyStr == "value"
            let pairs = d.items.map { (k, v) -> (Value, Value) in
                var key = byValue ? v : k
                if !a[0].truthy, case .string(let s) = key { key = .string(PyString.lower(s)) }
                return (key, .tuple([k, v]))
            }
            return .list(try stableSort(pairs, reverse: a[2].truthy).map { $0.1 })
        case "indent":
            let a = try bind([("width", .int(4)), ("first", .bool(false)), ("blank", .bool(false))])
            return .string(try indent(value.pyStr, width: a[0], first: a[1].truthy, blank: a[2].truthy))
        case "abs":
            switch value {
            case .int(let i): return .int(Swift.abs(i))
            case .double(let d): return .double(Swift.abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw RawTemplateError(.type, "bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            let a = try bind([("precision", .int(0)), ("method", .string("common"))])
            return try round(value, precision: a[0].intIndex ?? 0, method: a[1].pyStr)
        case "sum":
            let a = try bind([("attribute", Value.none), ("start", .int(0))])
            var total = a[1]
            for item in try r.iterate(value) {
                let v = a[0].isNoneValue ? item : try attributeGetter(a[0], item, r)
                total = try r.binary(.add, total, v)
            }
            return total
        case "min", "max":
            let a = try bind([("case_sensitive", .bool(false)), ("attribute", Value.none)])
            let items = try r.iterate(value)
            guard !items.isEmpty else { return .undefined(hint: "No aggregated item, sequence was empty.") }
            let keyed = try items.map { item -> (Value, Value) in
                var key = a[1].isNoneValue ? item : try attributeGetter(a[1], item, r)
                if !a[0].truthy, case .string(let s) = key { key = .string(PyString.lower(s)) }
                return (key, item)
            }
            var best = keyed[0]
            for candidate in keyed.dropFirst() {
                if name == "min" ? try candidate.0.pyLess(best.0) : try best.0.pyLess(candidate.0) { best = candidate }
            }
            return best.1
        case "wordcount":
            var count = 0
            var inWord = false
            for c in value.pyStr.unicodeScalars {
                let isWord = c.properties.isAlphabetic || c.properties.numericType != nil || c == "_"
                if isWord && !inWord { count += 1 }
                inWord = isWord
            }
            return .int(count)
        case "batch":
            let a = try bind([("linecount", nil), ("fill_with", Value.none)])
            let size = max(1, a[0].intIndex ?? 1)
            var out: [Value] = []
            var row: [Value] = []
            for item in try r.iterate(value) {
                row.append(item)
                if row.count == size {
                    out.append(.list(row))
                    row = []
                }
            }
            if !row.isEmpty {
                if !a[1].isNoneValue { row += try RenderLimits.repeated([a[1]], size - row.count, "batch") }
                out.append(.list(row))
            }
            return .generator(out)
        case "center":
            let a = try bind([("width", .int(80))])
            return try r.callValue(Methods.stringMethod(value.pyStr, "center") ?? Value.none, Arguments(positional: [a[0]]))
        case "format":
            if !args.keyword.isEmpty {
                var d = Dict()
                for (k, v) in args.keyword { d[k] = v }
                return .string(try Methods.percentFormat(value.pyStr, .dict(d)))
            }
            return .string(try Methods.percentFormat(value.pyStr, .tuple(args.positional)))
        case "attr":
            let a = try bind([("name", nil)])
            return try r.getAttribute(value, a[0].pyStr)
        case "tojson":
            let a = try bind([("ensure_ascii", .bool(false)), ("indent", Value.none), ("separators", Value.none), ("sort_keys", .bool(false))])
            var indent: String?
            switch a[1] {
            case .none: indent = nil
            case .string(let s): indent = s
            default:
                guard let n = a[1].intIndex else { throw RawTemplateError(.type, "tojson: indent must be an int or a string") }
                indent = try RenderLimits.repeated(" ", n, "tojson indent")
            }
            var separators: (item: String, key: String)?
            if case .list(let pair) = a[2].plain {
                guard pair.count == 2 else { throw RawTemplateError(.runtime, "ValueError: separators must be a pair") }
                separators = (pair[0].pyStr, pair[1].pyStr)
            }
            // Keys are sorted as Python sorts the dict's items (before they become strings), not by the writer.
            let format = JSONFormat(indent: indent, itemSeparator: separators?.item, keySeparator: separators?.key ?? ": ",
                                    ensureASCII: a[0].truthy)
            return .string(try value.jsonValue(sortKeys: a[3].truthy).text(format))
        default:
            throw RawTemplateError(.unknownFilter, "No filter named '\(name)'.")
        }
    }

    /// jinja2's `make_attrgetter`: `"a.b.0"` walks items/attributes; an int picks an index.
    static func attributeGetter(_ attribute: Value, _ item: Value, _ r: Renderer) throws -> Value {
        guard case .string(let path) = attribute else { return try r.getItem(item, attribute) }
        var value = item
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            value = try r.getItem(value, Int(part).map { .int($0) } ?? .string(String(part)))
        }
        return value
    }

    static func stableSort(_ pairs: [(Value, Value)], reverse: Bool) throws -> [(Value, Value)] {
        var failure: Error?
        let indexed = pairs.enumerated().map { ($0.offset, $0.element) }
        let sorted = indexed.sorted { x, y in
            do {
                let less = reverse ? try y.1.0.pyLess(x.1.0) : try x.1.0.pyLess(y.1.0)
                if less { return true }
                let greater = reverse ? try x.1.0.pyLess(y.1.0) : try y.1.0.pyLess(x.1.0)
                return !greater && x.0 < y.0
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return sorted.map { $0.1 }
    }

    /// jinja2's `title` filter: each run after `-`, whitespace, `(`, `{`, `[`, `<` is capitalised.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            let isDelimiter = PyString.isSpace(c) || "-({[<".unicodeScalars.contains(c)
            if isDelimiter {
                out.unicodeScalars.append(c)
                atStart = true
            } else {
                out += atStart ? c.properties.uppercaseMapping : c.properties.lowercaseMapping
                atStart = false
            }
        }
        return out
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func indent(_ s: String, width: Value, first: Bool, blank: Bool) throws -> String {
        let indention: String
        if case .string(let w) = width { indention = w } else { indention = try RenderLimits.repeated(" ", width.intIndex ?? 4, "indent") }
        let lines = PyString.splitlines(s + "\n")
        try RenderLimits.checkLength(RenderLimits.sum(RenderLimits.product(lines.count + 1, indention.utf8.count + 1), s.utf8.count), "indent")
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty {
                rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
            }
        }
        return first ? indention + rv : rv
    }

    /// Jinja's `int` filter; a float beyond 64 bits (`'1e300' | int`) throws `.limit` (Python would give a big integer).
    static func toInt(_ value: Value, default fallback: Value, base: Int) throws -> Value {
        switch value {
        case .int, .bool: return .int(value.intIndex ?? 0)
        case .double(let d): return d.isFinite ? .int(try RenderLimits.truncatedInt(d, "int")) : fallback
        case .string(let s):
            let t = PyString.strip(s, chars: nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
            if let i = Int(t, radix: base) { return .int(i) }
            if let d = Double(t), d.isFinite { return .int(try RenderLimits.truncatedInt(d, "int")) }
            return fallback
        default: return fallback
        }
    }

    static func toFloat(_ value: Value) -> Value? {
        switch value {
        case .int, .bool, .double: return value.numeric.map { .double($0) }
        case .string(let s):
            let t = PyString.strip(s, chars: nil, leading: true, trailing: true)
            switch t.lowercased() {
            case "inf", "+inf", "infinity": return .double(.infinity)
            case "-inf", "-infinity": return .double(-.infinity)
            case "nan": return .double(.nan)
            default: return Double(t).map { .double($0) }
            }
        default: return nil
        }
    }

    static func round(_ value: Value, precision: Int, method: String) throws -> Value {
        guard let x = value.numeric else { throw RawTemplateError(.type, "type \(value.typeName) doesn't define __round__ method") }
        let scale = pow(10, Double(precision))
        switch method {
        case "common":
            if case .int = value { return value }
            return .double((x * scale).rounded(.toNearestOrEven) / scale)
        case "ceil": return .double((x * scale).rounded(.up) / scale)
        case "floor": return .double((x * scale).rounded(.down) / scale)
        default: throw RawTemplateError(.runtime, "method must be common, ceil or floor")
        }
    }
}

extension Value {
    var isNoneValue: Bool {
        if case .none = self { return true }
        return false
    }
}

import Foundation
