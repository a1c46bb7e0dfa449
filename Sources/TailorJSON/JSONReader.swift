/// What the reader accepts beyond RFC 8259's grammar, and how deep it goes.
///
/// The reader is strict RFC 8259 on UTF-8 text (a leading byte order mark is skipped): no comments,
/// no trailing commas, no leading zeros, no single quotes, control characters only escaped, invalid
/// UTF-8 rejected. The options settle what the RFC leaves open.
public struct JSONReadOptions: Sendable, Hashable {
    /// What to do when an object names a key twice.
    public enum RepeatedKeys: Sendable, Hashable {
        /// The key keeps its first place and takes the last value (Python's `json.loads`).
        case keepLast
        /// An error at the second occurrence (safetensors headers, where a repeat is corruption).
        case reject
    }

    /// What to do with a `\uD800`-`\uDFFF` escape that is not half of a surrogate pair.
    public enum LoneSurrogates: Sendable, Hashable {
        /// Read it as U+FFFD, which is what such a Python string becomes when encoded to UTF-8 with
        /// `errors="replace"`; files Python wrote (tokenizer files, chat data) may hold these escapes.
        case replace
        /// An error (serde_json's behaviour, so safetensors' Rust reader's).
        case reject
    }

    /// Arrays and objects nested deeper than this are an error (Python stops near 1000 levels with a
    /// RecursionError; no Hugging Face file comes near 512).
    public var maxDepth: Int
    public var repeatedKeys: RepeatedKeys
    public var loneSurrogates: LoneSurrogates
    /// Read Python's `NaN`, `Infinity` and `-Infinity` (which `json.dumps` writes for non-finite floats,
    /// so Trainer's trainer_state.json may hold them) as doubles.
    public var allowNonFinite: Bool

    public init(maxDepth: Int = 512, repeatedKeys: RepeatedKeys = .keepLast, loneSurrogates: LoneSurrogates = .replace,
                allowNonFinite: Bool = false) {
        self.maxDepth = maxDepth
        self.repeatedKeys = repeatedKeys
        self.loneSurrogates = loneSurrogates
        self.allowNonFinite = allowNonFinite
    }

    /// The defaults: repeated keys keep the last value, lone surrogates become U+FFFD, no NaN.
    public static let standard = JSONReadOptions()
    /// serde_json's rules: repeated keys and lone surrogates are errors.
    public static let strict = JSONReadOptions(repeatedKeys: .reject, loneSurrogates: .reject)
    /// Python's `json.loads`: the defaults plus `NaN` / `Infinity`.
    public static let python = JSONReadOptions(allowNonFinite: true)
}

extension JSONValue {
    /// Reads one JSON value (with white space around it) from `bytes[range]` (all of `bytes` when nil).
    /// Lines and columns count from the start of `bytes`, so a value inside a larger file is placed where
    /// it stands in the file.
    /// - Throws: `JSONError` naming `file`, the line and column, and what was expected there.
    public init(parsing bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil, file: String? = nil,
                options: JSONReadOptions = .standard) throws(JSONError) {
        var parser = JSONParser(bytes: bytes, range: range ?? 0..<bytes.count, file: file, options: options)
        self = try parser.document()
    }

    /// Reads one JSON value from `bytes[range]`; see `init(parsing:range:file:options:)`.
    public init(parsing bytes: [UInt8], range: Range<Int>? = nil, file: String? = nil,
                options: JSONReadOptions = .standard) throws(JSONError) {
        var result: Result<JSONValue, JSONError> = .success(.null)
        bytes.withUnsafeBytes { raw in
            do throws(JSONError) {
                result = .success(try JSONValue(parsing: raw, range: range, file: file, options: options))
            } catch {
                result = .failure(error)
            }
        }
        self = try result.get()
    }

    /// Reads one JSON value from a slice (a line of a JSON Lines file). Columns count from the slice's
    /// start, lines from `line`, the line the slice starts on in its file.
    public init(parsing bytes: ArraySlice<UInt8>, line: Int = 1, file: String? = nil,
                options: JSONReadOptions = .standard) throws(JSONError) {
        var result: Result<JSONValue, JSONError> = .success(.null)
        bytes.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw, range: 0..<raw.count, file: file, options: options, firstLine: line)
            do throws(JSONError) {
                result = .success(try parser.document())
            } catch {
                result = .failure(error)
            }
        }
        self = try result.get()
    }

    /// Reads one JSON value from text.
    public init(parsing text: String, file: String? = nil, options: JSONReadOptions = .standard) throws(JSONError) {
        try self.init(parsing: Array(text.utf8), file: file, options: options)
    }
}

/// A recursive-descent reader over UTF-8 bytes.
private struct JSONParser {
    let b: UnsafeRawBufferPointer
    var i: Int
    let end: Int
    let file: String?
    let options: JSONReadOptions
    /// The line number of the buffer's first byte.
    let firstLine: Int
    var depth = 0

    init(bytes: UnsafeRawBufferPointer, range: Range<Int>, file: String?, options: JSONReadOptions, firstLine: Int = 1) {
        b = bytes
        i = max(0, range.lowerBound)
        end = min(bytes.count, range.upperBound)
        self.file = file
        self.options = options
        self.firstLine = firstLine
    }

    // MARK: Positions and errors

    /// The 1-based line and column of byte `offset` (a byte order mark at the start takes no column).
    func position(_ offset: Int) -> (line: Int, column: Int) {
        var line = firstLine, column = 1
        var k = b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
        let stop = min(offset, b.count)
        while k < stop {
            let c = b[k]
            if c == 0x0A {
                line += 1
                column = 1
            } else if c & 0xC0 != 0x80 {
                column += 1
            }
            k += 1
        }
        return (line, column)
    }

    func error(_ reason: String, at offset: Int? = nil) -> JSONError {
        let at = offset ?? i
        let (line, column) = position(at)
        return JSONError(file: file, line: line, column: column, offset: at, reason: reason)
    }

    /// The end of the text inside the container that opened at `open`.
    func unclosed(_ what: String, openedAt open: Int, expected: String) -> JSONError {
        let (line, column) = position(open)
        return error("the text ends inside the \(what) opened at line \(line), column \(column); expected \(expected)")
    }

    /// The byte at `offset` as a message names it: `'x'`, `'é' (U+00E9)`, `control character U+000A`.
    func describe(_ offset: Int) -> String {
        let c = b[offset]
        if c >= 0x21 && c <= 0x7E { return "character '\(Unicode.Scalar(c))'" }
        if c < 0x80 { return "control character U+\(hex(UInt32(c), 4))" }  // allowed: UInt8 widens
        if let scalar = decodeScalar(at: offset) {
            if scalar == "\u{FEFF}" { return "byte order mark U+FEFF (allowed only as a file's first bytes)" }
            return "character '\(scalar)' (U+\(hex(scalar.value, 4)))"
        }
        return "byte 0x\(hex(UInt32(c), 2)), which is not valid UTF-8"  // allowed: UInt8 widens
    }

    func decodeScalar(at offset: Int) -> Unicode.Scalar? {
        let length = utf8SequenceLength(at: offset, limit: end)
        guard length > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: b[offset..<offset + length]), as: UTF8.self).unicodeScalars.first
    }

    /// The length of the valid UTF-8 sequence at `offset`, or 0 when the bytes there are not one.
    func utf8SequenceLength(at offset: Int, limit: Int) -> Int {
        let c = b[offset]
        let length: Int, low: UInt8, high: UInt8
        switch c {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
        case 0xED: (length, low, high) = (3, 0x80, 0x9F)  // no UTF-16 surrogates
        case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (length, low, high) = (4, 0x80, 0x8F)  // nothing above U+10FFFF
        default: return 0
        }
        guard offset + length <= limit, (low...high).contains(b[offset + 1]) else { return 0 }
        for k in 2..<max(2, length) where b[offset + k] & 0xC0 != 0x80 { return 0 }
        return length
    }

    /// The offset of the first byte in `range` that does not start or continue valid UTF-8.
    func firstInvalidUTF8(_ range: Range<Int>) -> Int? {
        var k = range.lowerBound
        while k < range.upperBound {
            let length = utf8SequenceLength(at: k, limit: range.upperBound)
            if length == 0 { return k }
            k += length
        }
        return nil
    }

    // MARK: Grammar

    mutating func document() throws(JSONError) -> JSONValue {
        if end - i >= 3 && b[i] == 0xEF && b[i + 1] == 0xBB && b[i + 2] == 0xBF { i += 3 }
        skipSpace()
        let value = try parseValue()
        skipSpace()
        guard i == end else { throw error("unexpected \(describe(i)) after the JSON value; expected the end of the text") }
        return value
    }

    mutating func skipSpace() {
        while i < end {
            let c = b[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard i < end else { throw error("the text ends where a value was expected") }
        switch b[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N") where options.allowNonFinite: try literal("NaN"); return .double(.nan)
        case UInt8(ascii: "I") where options.allowNonFinite: try literal("Infinity"); return .double(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw error("unexpected \(describe(i)); expected a value (an object, array, string, number, true, false or null)")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        let matches = end - i >= count && word.withUTF8Buffer { w in (0..<count).allSatisfy { b[i + $0] == w[$0] } }
        guard matches else { throw error("invalid literal; expected \(word)") }
        i += count
    }

    mutating func enter(_ open: Int) throws(JSONError) {
        depth += 1
        guard depth <= options.maxDepth else {
            throw error("arrays and objects nest deeper than \(options.maxDepth) levels", at: open)
        }
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        let open = i
        try enter(open)
        i += 1
        var members: [JSONObject.Element] = []
        var keyOffsets: [Int] = []
        skipSpace()
        if i < end && b[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(JSONObject(distinct: members))
        }
        var afterComma = false
        while true {
            guard i < end else { throw unclosed("object", openedAt: open, expected: "a string key or '}'") }
            guard b[i] == UInt8(ascii: "\"") else {
                if afterComma && b[i] == UInt8(ascii: "}") { throw error("expected a string key after ','; JSON allows no trailing comma") }
                throw error("unexpected \(describe(i)); expected a string key in double quotes")
            }
            let keyAt = i
            let key = try parseString()
            skipSpace()
            guard i < end else { throw unclosed("object", openedAt: open, expected: "':' after the key") }
            guard b[i] == UInt8(ascii: ":") else { throw error("unexpected \(describe(i)); expected ':' after the key \"\(key)\"") }
            i += 1
            skipSpace()
            let value = try parseValue()
            if members.isEmpty { members.reserveCapacity(8) }
            members.append((key, value))
            if options.repeatedKeys == .reject { keyOffsets.append(keyAt) }
            skipSpace()
            guard i < end else { throw unclosed("object", openedAt: open, expected: "',' or '}'") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                skipSpace()
                afterComma = true
                continue
            }
            guard b[i] == UInt8(ascii: "}") else {
                throw error("unexpected \(describe(i)); expected ',' or '}' after an object member")
            }
            i += 1
            break
        }
        depth -= 1
        if options.repeatedKeys == .reject {
            if let repeated = JSONObject.firstRepeat(in: members) {
                throw error("the key \"\(members[repeated].key)\" appears twice in this object", at: keyOffsets[repeated])
            }
        } else {
            _ = JSONObject.mergeRepeatedKeys(&members)
        }
        return .object(JSONObject(distinct: members))
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        let open = i
        try enter(open)
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < end && b[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            guard i < end else { throw unclosed("array", openedAt: open, expected: "a value or ']'") }
            let value = try parseValue()
            if items.isEmpty { items.reserveCapacity(4) }
            items.append(value)
            skipSpace()
            guard i < end else { throw unclosed("array", openedAt: open, expected: "',' or ']'") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                skipSpace()
                if i < end && b[i] == UInt8(ascii: "]") { throw error("expected a value after ','; JSON allows no trailing comma") }
                continue
            }
            guard b[i] == UInt8(ascii: "]") else {
                throw error("unexpected \(describe(i)); expected ',' or ']' after an array element")
            }
            i += 1
            break
        }
        depth -= 1
        return .array(items)
    }

    // MARK: Strings

    mutating func parseString() throws(JSONError) -> String {
        let open = i
        i += 1
        let start = i
        var ascii = true
        // Fast path: no escapes.
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let string = try makeString(UnsafeRawBufferPointer(rebasing: b[start..<i]), ascii: ascii, range: start..<i)
                i += 1
                return string
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw controlCharacter() }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: b[start..<i]))
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let range = start..<i
                i += 1
                if !ascii, let string = String(validating: out, as: UTF8.self) { return string }
                if !ascii { throw invalidUTF8(range) }
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw controlCharacter() }
            if c != UInt8(ascii: "\\") {
                if c >= 0x80 { ascii = false }
                out.append(c)
                i += 1
                continue
            }
            let escape = i
            i += 1
            guard i < end else { break }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                ascii = false
                appendUTF8(try unicodeEscape(at: escape), to: &out)
            default:
                throw error("invalid escape \\\(describe(escape + 1)); expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                            at: escape)
            }
        }
        throw error("the string is not closed; expected '\"' before the end of the text", at: open)
    }

    func controlCharacter() -> JSONError {
        error("\(describe(i)) inside a string; control characters must be escaped (\\n, \\t, \\u00XX)")
    }

    /// A string of the bytes in `raw`, which came from `range` of the input (for the error's position).
    func makeString(_ raw: UnsafeRawBufferPointer, ascii: Bool, range: Range<Int>) throws(JSONError) -> String {
        // String(decoding:) is the stdlib's fast path, but it repairs bad bytes; check them first.
        if !ascii, firstInvalidUTF8(range) != nil { throw invalidUTF8(range) }
        return String(decoding: raw, as: UTF8.self)
    }

    func invalidUTF8(_ range: Range<Int>) -> JSONError {
        let bad = firstInvalidUTF8(range) ?? range.lowerBound
        return error("byte 0x\(hex(UInt32(b[bad]), 2)) is not valid UTF-8; the file must be UTF-8 text", at: bad)  // allowed: a byte or hex digit widens
    }

    /// The scalar of the `\uXXXX` escape at `escape` (with its low half when it is a surrogate pair);
    /// `i` is just past the `u`.
    mutating func unicodeEscape(at escape: Int) throws(JSONError) -> Unicode.Scalar {
        let unit = try hex4(escape)
        if (0xD800..<0xDC00).contains(unit), end - i >= 6, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
            let save = i
            i += 2
            let low = try hex4(save)
            if (0xDC00..<0xE000).contains(low), let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) {
                return scalar
            }
            i = save  // the next escape is read on its own
        }
        if let scalar = Unicode.Scalar(unit) { return scalar }
        guard options.loneSurrogates == .replace else {
            throw error("\\u\(hex(unit, 4)) is a lone UTF-16 surrogate (not half of a pair), which is no character", at: escape)
        }
        return "\u{FFFD}"
    }

    mutating func hex4(_ escape: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard i < end else { throw error("the text ends inside the escape; expected four hex digits after \\u", at: escape) }
            let c = b[i]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
            default: throw error("unexpected \(describe(i)) in a \\u escape; expected four hex digits")
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }

    func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        let v = scalar.value
        switch v {
        case 0..<0x80: out.append(UInt8(v))  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
        case 0x80..<0x800: out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
        case 0x800..<0x10000: out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
        default: out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]  // allowed: a UTF-8 byte: shifts and masks of a scalar below 0x110000 leave it below 256
        }
    }

    // MARK: Numbers

    func isDigit(_ offset: Int) -> Bool { offset < end && b[offset] >= 0x30 && b[offset] <= 0x39 }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = i
        let negative = b[i] == UInt8(ascii: "-")
        if negative {
            i += 1
            if options.allowNonFinite && i < end && b[i] == UInt8(ascii: "I") {
                try literal("Infinity")
                return .double(-.infinity)
            }
            guard isDigit(i) else {
                throw i < end ? error("unexpected \(describe(i)) after '-'; expected a digit") : error("the text ends after '-'; expected a digit")
            }
        }
        // The integer part, accumulated negatively so that Int.min fits.
        var value = 0
        var overflow = false
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw error("a number may not start with 0 followed by digits (no leading zeros)", at: start) }
        } else {
            while isDigit(i) {
                let digit = Int(b[i] - 0x30)  // allowed: a decimal digit 0...9
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.subtractingReportingOverflow(digit)
                overflow = overflow || o1 || o2
                value = next
                i += 1
            }
        }
        var isInteger = true
        if i < end && b[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard isDigit(i) else { throw error("expected a digit after the decimal point") }
            while isDigit(i) { i += 1 }
        }
        if i < end && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            isInteger = false
            i += 1
            if i < end && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { throw error("expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
        }
        let stop = i
        let text = { [b] in String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<stop]), as: UTF8.self) }
        if isInteger {
            if !overflow {
                if negative { return .int(value) }
                if value != .min { return .int(-value) }
            }
            return .bigInteger(text())
        }
        guard let double = Double(text()) else { throw error("\(text()) is not a number Tailor can read", at: start) }
        return .double(double)
    }
}

func hex(_ value: UInt32, _ width: Int) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
