/// Splits template text into tokens, reproducing jinja2's lexer with transformers' settings:
/// `trim_blocks=True` (a block or comment tag eats one newline after it), `lstrip_blocks=True`
/// (spaces and tabs before a block or comment tag on its own line are dropped), `-` and `+`
/// whitespace control, and `keep_trailing_newline=False` (one final newline of the template dropped).
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case end
    }
    let kind: Kind
    /// Byte offset in the normalised source.
    let offset: Int
}

struct Lexer {
    let src: [UInt8]
    private(set) var tokens: [Token] = []

    /// jinja2 normalises `\r\n` and `\r` to `\n` and drops one trailing newline.
    static func normalise(_ source: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(source.utf8.count)
        var previousCR = false
        for b in source.utf8 {
            if b == 0x0D {
                out.append(0x0A)
                previousCR = true
                continue
            }
            if b == 0x0A && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.append(b)
        }
        if out.last == 0x0A { out.removeLast() }
        return out
    }

    init(source: [UInt8]) {
        self.src = source
    }

    private func at(_ i: Int) -> UInt8 { i < src.count ? src[i] : 0 }

    private func syntax(_ message: String, _ offset: Int) -> RawTemplateError {
        RawTemplateError(.syntax, message, offset: offset)
    }

    /// Python's `\s` for one UTF-8 sequence starting at `i`: returns its length when whitespace.
    private func whitespaceLength(at i: Int) -> Int {
        guard i < src.count else { return 0 }
        let b = src[i]
        if b < 0x80 { return PyString.isSpace(Unicode.Scalar(b)) ? 1 : 0 }
        // Decode one multi-byte scalar.
        var length = 1
        if b & 0xE0 == 0xC0 { length = 2 } else if b & 0xF0 == 0xE0 { length = 3 } else if b & 0xF8 == 0xF0 { length = 4 }
        guard i + length <= src.count else { return 0 }
        let text = String(decoding: src[i..<i + length], as: UTF8.self)
        guard let scalar = text.unicodeScalars.first else { return 0 }
        return PyString.isSpace(scalar) ? length : 0
    }

    private func skipWhitespace(_ i: inout Int) {
        while true {
            let n = whitespaceLength(at: i)
            if n == 0 { return }
            i += n
        }
    }

    /// `text.rstrip()` on bytes, Python whitespace.
    private func rstripEnd(_ start: Int, _ end: Int) -> Int {
        let text = String(decoding: src[start..<end], as: UTF8.self)
        let stripped = PyString.strip(text, chars: nil, leading: false, trailing: true)
        return start + stripped.utf8.count
    }

    /// The byte index to cut at for lstrip_blocks, or nil when the line before the tag is not blank.
    private func lstripCut(_ start: Int, _ end: Int, lineStarting: Bool) -> Int? {
        var lineStart = end
        while lineStart > start, src[lineStart - 1] != 0x0A { lineStart -= 1 }
        guard lineStart > start || lineStarting else { return nil }
        var i = lineStart
        guard i < end else { return nil }  // `\s+` needs at least one character
        while i < end {
            let n = whitespaceLength(at: i)
            if n == 0 { return nil }
            i += n
        }
        return lineStart
    }

    mutating func tokenize() throws {
        var pos = 0
        var lineStarting = true
        while pos < src.count {
            // Find the next tag opener.
            var open = pos
            var found: UInt8 = 0
            while open + 1 < src.count {
                if src[open] == UInt8(ascii: "{") {
                    let next = src[open + 1]
                    if next == UInt8(ascii: "{") || next == UInt8(ascii: "%") || next == UInt8(ascii: "#") {
                        found = next
                        break
                    }
                }
                open += 1
            }
            if found == 0 {
                emitText(pos, src.count)
                return
            }
            let sign = at(open + 2)
            let hasSign = sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+")
            var textEnd = open
            if sign == UInt8(ascii: "-") {
                textEnd = rstripEnd(pos, open)
            } else if sign != UInt8(ascii: "+") && found != UInt8(ascii: "{") {
                if let cut = lstripCut(pos, open, lineStarting: lineStarting) { textEnd = cut }
            }
            emitText(pos, textEnd)
            var i = open + 2 + (hasSign ? 1 : 0)
            switch found {
            case UInt8(ascii: "#"):
                // Comment: up to the first `#}`; `-#}` strips what follows, `#}` eats one newline.
                var close = i
                while close + 1 < src.count, !(src[close] == UInt8(ascii: "#") && src[close + 1] == UInt8(ascii: "}")) {
                    close += 1
                }
                guard close + 1 < src.count else { throw syntax("missing end of comment tag", open) }
                var after = close + 2
                let before = close > i ? src[close - 1] : 0
                if before == UInt8(ascii: "-") {
                    skipWhitespace(&after)
                } else if before != UInt8(ascii: "+") && at(after) == 0x0A {
                    after += 1
                }
                lineStarting = after > 0 && src[after - 1] == 0x0A
                pos = after
            case UInt8(ascii: "%"):
                if let rawEnd = try lexRaw(open: open, contentStart: i) {
                    lineStarting = rawEnd > 0 && src[rawEnd - 1] == 0x0A
                    pos = rawEnd
                    continue
                }
                tokens.append(Token(kind: .blockBegin, offset: open))
                pos = try lexExpression(from: &i, isBlock: true)
                lineStarting = pos > 0 && src[pos - 1] == 0x0A
            default:
                tokens.append(Token(kind: .variableBegin, offset: open))
                pos = try lexExpression(from: &i, isBlock: false)
                lineStarting = pos > 0 && src[pos - 1] == 0x0A
            }
        }
    }

    private mutating func emitText(_ start: Int, _ end: Int) {
        guard end > start else { return }
        tokens.append(Token(kind: .text(String(decoding: src[start..<end], as: UTF8.self)), offset: start))
    }

    private func matchesWord(_ word: String, at i: Int) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= src.count, Array(src[i..<i + w.count]) == w else { return false }
        let next = at(i + w.count)
        return !(isNameByte(next))
    }

    private func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b >= 0x80
    }

    /// `{% raw %}...{% endraw %}`: returns the position after the end tag, or nil when not a raw tag.
    private mutating func lexRaw(open: Int, contentStart: Int) throws -> Int? {
        var i = contentStart
        skipWhitespace(&i)
        guard matchesWord("raw", at: i) else { return nil }
        i += 3
        skipWhitespace(&i)
        var bodyStart: Int
        if at(i) == UInt8(ascii: "-") && at(i + 1) == UInt8(ascii: "%") && at(i + 2) == UInt8(ascii: "}") {
            bodyStart = i + 3
            skipWhitespace(&bodyStart)
        } else if at(i) == UInt8(ascii: "%") && at(i + 1) == UInt8(ascii: "}") {
            bodyStart = i + 2  // no trim_blocks newline eating after `{% raw %}`, as in jinja2
        } else {
            return nil
        }
        let rawLineStarting = bodyStart > 0 && src[bodyStart - 1] == 0x0A
        // Find `{%[-+]? endraw [-+]?%}`.
        var j = bodyStart
        while j + 1 < src.count {
            if src[j] == UInt8(ascii: "{") && src[j + 1] == UInt8(ascii: "%") {
                let sign = at(j + 2)
                var k = j + 2 + ((sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+")) ? 1 : 0)
                skipWhitespace(&k)
                if matchesWord("endraw", at: k) {
                    k += 6
                    skipWhitespace(&k)
                    var end: Int?
                    if at(k) == UInt8(ascii: "-") && at(k + 1) == UInt8(ascii: "%") && at(k + 2) == UInt8(ascii: "}") {
                        var e = k + 3
                        skipWhitespace(&e)
                        end = e
                    } else if at(k) == UInt8(ascii: "+") && at(k + 1) == UInt8(ascii: "%") && at(k + 2) == UInt8(ascii: "}") {
                        end = k + 3
                    } else if at(k) == UInt8(ascii: "%") && at(k + 1) == UInt8(ascii: "}") {
                        end = k + 2 + (at(k + 2) == 0x0A ? 1 : 0)
                    }
                    if let end {
                        var textEnd = j
                        if sign == UInt8(ascii: "-") {
                            textEnd = rstripEnd(bodyStart, j)
                        } else if sign != UInt8(ascii: "+"),
                            let cut = lstripCut(bodyStart, j, lineStarting: rawLineStarting)
                        {
                            textEnd = cut
                        }
                        emitText(bodyStart, textEnd)
                        return end
                    }
                }
            }
            j += 1
        }
        throw syntax("missing end of raw directive", open)
    }

    /// Lexes the inside of `{{ }}` or `{% %}` up to its end marker; returns the position after it.
    private mutating func lexExpression(from i: inout Int, isBlock: Bool) throws -> Int {
        let close = isBlock ? UInt8(ascii: "%") : UInt8(ascii: "}")
        var balance: [UInt8] = []
        let start = i
        while true {
            guard i < src.count else {
                throw syntax(isBlock ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'", start)
            }
            if balance.isEmpty {
                // End markers: `-%}` + whitespace, `+%}`, `%}` + one newline (blocks only).
                if src[i] == UInt8(ascii: "-") && at(i + 1) == close && at(i + 2) == UInt8(ascii: "}") {
                    tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, offset: i))
                    var end = i + 3
                    skipWhitespace(&end)
                    return end
                }
                if isBlock && src[i] == UInt8(ascii: "+") && at(i + 1) == close && at(i + 2) == UInt8(ascii: "}") {
                    tokens.append(Token(kind: .blockEnd, offset: i))
                    return i + 3
                }
                if src[i] == close && at(i + 1) == UInt8(ascii: "}") {
                    tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, offset: i))
                    var end = i + 2
                    if isBlock && at(end) == 0x0A { end += 1 }
                    return end
                }
            }
            let ws = whitespaceLength(at: i)
            if ws > 0 {
                i += ws
                continue
            }
            let b = src[i]
            let tokenStart = i
            if b >= 0x30 && b <= 0x39 {
                tokens.append(Token(kind: try lexNumber(&i), offset: tokenStart))
            } else if isNameByte(b) {
                while i < src.count, isNameByte(src[i]) { i += 1 }
                tokens.append(Token(kind: .name(String(decoding: src[tokenStart..<i], as: UTF8.self)), offset: tokenStart))
            } else if b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
                tokens.append(Token(kind: .string(try lexString(&i)), offset: tokenStart))
            } else {
                let two = i + 1 < src.count ? String(decoding: src[i..<i + 2], as: UTF8.self) : ""
                let op: String
                if ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    op = two
                } else if "+-*/%~[](){}<>=.:|,;".utf8.contains(b) {
                    op = String(UnicodeScalar(b))
                } else {
                    throw syntax("unexpected char \(pythonStringRepr(String(decoding: src[i..<min(i + 1, src.count)], as: UTF8.self)))", i)
                }
                switch op {
                case "(": balance.append(UInt8(ascii: ")"))
                case "[": balance.append(UInt8(ascii: "]"))
                case "{": balance.append(UInt8(ascii: "}"))
                case ")", "]", "}":
                    guard let expected = balance.popLast() else { throw syntax("unexpected '\(op)'", i) }
                    guard expected == b else {
                        throw syntax("unexpected '\(op)', expected '\(String(UnicodeScalar(expected)))'", i)
                    }
                default: break
                }
                i += op.utf8.count
                tokens.append(Token(kind: .op(op), offset: tokenStart))
            }
        }
    }

    private func lexNumber(_ i: inout Int) throws -> Token.Kind {
        let start = i
        func digits(_ i: inout Int) {
            while i < src.count, (src[i] >= 0x30 && src[i] <= 0x39) || (src[i] == UInt8(ascii: "_") && i + 1 < src.count && src[i + 1] >= 0x30 && src[i + 1] <= 0x39) {
                i += 1
            }
        }
        // Prefixed integers.
        if src[i] == UInt8(ascii: "0"), i + 1 < src.count, [UInt8(ascii: "x"), UInt8(ascii: "o"), UInt8(ascii: "b")].contains(src[i + 1] | 0x20) {
            let radix = src[i + 1] | 0x20 == UInt8(ascii: "x") ? 16 : (src[i + 1] | 0x20 == UInt8(ascii: "o") ? 8 : 2)
            i += 2
            let s = i
            while i < src.count, isNameByte(src[i]) { i += 1 }
            let text = String(decoding: src[s..<i], as: UTF8.self).replacingUnderscores()
            guard let v = Int(text, radix: radix) else { throw syntax("invalid number literal", start) }
            return .integer(v)
        }
        digits(&i)
        var isFloat = false
        if at(i) == UInt8(ascii: "."), at(i + 1) >= 0x30 && at(i + 1) <= 0x39 {
            isFloat = true
            i += 1
            digits(&i)
        }
        if at(i) | 0x20 == UInt8(ascii: "e") {
            var j = i + 1
            if at(j) == UInt8(ascii: "+") || at(j) == UInt8(ascii: "-") { j += 1 }
            if at(j) >= 0x30 && at(j) <= 0x39 {
                isFloat = true
                i = j
                digits(&i)
            }
        }
        let text = String(decoding: src[start..<i], as: UTF8.self).replacingUnderscores()
        if isFloat {
            guard let v = Double(text) else { throw syntax("invalid number literal", start) }
            return .float(v)
        }
        guard let v = Int(text) else { throw syntax("integer literal too large", start) }
        return .integer(v)
    }

    /// A quoted string with Python `unicode-escape` rules (unknown escapes keep their backslash).
    private func lexString(_ i: inout Int) throws -> String {
        let quote = src[i]
        let start = i
        i += 1
        var out = String.UnicodeScalarView()
        var bytes: [UInt8] = []
        func flush() {
            if !bytes.isEmpty {
                out.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars)
                bytes.removeAll()
            }
        }
        while i < src.count {
            let b = src[i]
            if b == quote {
                i += 1
                flush()
                return String(out)
            }
            if b == UInt8(ascii: "\\"), i + 1 < src.count {
                flush()
                let e = src[i + 1]
                i += 2
                func hexValue(_ n: Int) -> Unicode.Scalar? {
                    guard i + n <= src.count, let v = UInt32(String(decoding: src[i..<i + n], as: UTF8.self), radix: 16)
                    else { return nil }
                    i += n
                    return Unicode.Scalar(v)
                }
                switch e {
                case UInt8(ascii: "n"): out.append("\n")
                case UInt8(ascii: "t"): out.append("\t")
                case UInt8(ascii: "r"): out.append("\r")
                case UInt8(ascii: "\\"): out.append("\\")
                case UInt8(ascii: "'"): out.append("'")
                case UInt8(ascii: "\""): out.append("\"")
                case UInt8(ascii: "b"): out.append("\u{08}")
                case UInt8(ascii: "f"): out.append("\u{0C}")
                case UInt8(ascii: "v"): out.append("\u{0B}")
                case UInt8(ascii: "a"): out.append("\u{07}")
                case 0x0A: break  // backslash-newline: line continuation
                case UInt8(ascii: "x"):
                    guard let s = hexValue(2) else { throw syntax("truncated \\xXX escape", i) }
                    out.append(s)
                case UInt8(ascii: "u"):
                    guard let s = hexValue(4) else { throw syntax("truncated \\uXXXX escape", i) }
                    out.append(s)
                case UInt8(ascii: "U"):
                    guard let s = hexValue(8) else { throw syntax("truncated \\UXXXXXXXX escape", i) }
                    out.append(s)
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var v = UInt32(e - 0x30)
                    var n = 1
                    while n < 3, i < src.count, src[i] >= 0x30, src[i] <= 0x37 {
                        v = v * 8 + UInt32(src[i] - 0x30)  // allowed: an octal digit 0...7; the escape reads at most 3, so v < 512
                        i += 1
                        n += 1
                    }
                    out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                default:
                    out.append("\\")
                    i -= 1  // re-read the escaped byte as ordinary text
                }
                continue
            }
            bytes.append(b)
            i += 1
        }
        throw syntax("unterminated string", start)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
