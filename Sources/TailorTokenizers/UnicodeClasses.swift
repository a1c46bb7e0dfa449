/// Unicode character classes used by the pre-tokenizer patterns (`\p{L}`, `\p{N}`, `\s`, ...),
/// looked up in a table for the Basic Multilingual Plane and computed for the rest.
enum CharClass {
    static let letter: UInt8 = 1        // \p{L}
    static let number: UInt8 = 2        // \p{N}
    static let space: UInt8 = 4         // \s (White_Space)
    static let newline: UInt8 = 8       // \r or \n
    static let punctuation: UInt8 = 16  // \p{P}
    static let symbol: UInt8 = 32       // \p{S}
    static let mark: UInt8 = 64         // \p{M}
    static let decimal: UInt8 = 128     // \p{Nd}

    static func compute(_ v: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(v) else { return 0 }
        var c: UInt8 = 0
        if s.properties.isWhitespace { c |= space }
        if v == 0x0A || v == 0x0D { c |= newline }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: c |= letter
        case .decimalNumber: c |= number | decimal
        case .letterNumber, .otherNumber: c |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: c |= punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: c |= symbol
        case .nonspacingMark, .spacingMark, .enclosingMark: c |= mark
        default: break
        }
        return c
    }

    /// Classes of U+0000...U+FFFF.
    static let bmp: [UInt8] = (0..<0x10000).map { compute(UInt32($0)) }  // allowed: scalar values and bytes widen (below 0x110000)

    @inline(__always)
    static func of(_ v: UInt32) -> UInt8 {
        v < 0x10000 ? bmp[Int(v)] : compute(v)  // allowed: v < 0x10000 checked on this line
    }

    /// Oniguruma's `\w`: letters, marks, numbers, connector punctuation and the joiners U+200C/U+200D.
    static func isWord(_ v: UInt32) -> Bool {
        if v == 0x5F || v == 0x200C || v == 0x200D { return true }
        if let s = Unicode.Scalar(v), s.properties.generalCategory == .connectorPunctuation { return true }
        let c = of(v)
        return c & (letter | number | mark) != 0
    }
}

/// UTF-8 text decoded once into scalars, with the byte offset of every scalar.
struct ScalarText {
    var values: [UInt32] = []
    var offsets: [Int] = []   // offsets[k] = byte offset of scalar k; offsets[count] = byte count

    init(_ bytes: [UInt8]) { decode(bytes) }

    mutating func decode(_ bytes: [UInt8]) {
        values.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        values.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var i = 0
        let n = bytes.count
        bytes.withUnsafeBufferPointer { b in
            while i < n {
                let b0 = b[i]
                offsets.append(i)
                if b0 < 0x80 {
                    values.append(UInt32(b0)); i += 1
                } else if b0 < 0xE0, i + 1 < n {
                    values.append(UInt32(b0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)); i += 2  // allowed: scalar values and bytes widen (below 0x110000)
                } else if b0 < 0xF0, i + 2 < n {
                    values.append(UInt32(b0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)); i += 3  // allowed: scalar values and bytes widen (below 0x110000)
                } else if i + 3 < n {
                    values.append(UInt32(b0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12  // allowed: scalar values and bytes widen (below 0x110000)
                        | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F)); i += 4  // allowed: scalar values and bytes widen (below 0x110000)
                } else {
                    values.append(0xFFFD); i += 1
                }
            }
        }
        offsets.append(n)
    }

    var count: Int { values.count }
}

/// UTF-8 bytes of a scalar value.
@inline(__always)
func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
        out.append(UInt8(v))  // allowed: a UTF-8 byte: the shifts and masks of a scalar value below 0x110000 leave it below 256
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))  // allowed: a UTF-8 byte: the shifts and masks of a scalar value below 0x110000 leave it below 256
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))  // allowed: a UTF-8 byte: the shifts and masks of a scalar value below 0x110000 leave it below 256
        out.append(UInt8(0x80 | (v & 0x3F)))  // allowed: a UTF-8 byte: the shifts and masks of a scalar value below 0x110000 leave it below 256
    } else {
        out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))  // allowed: a UTF-8 byte: the shifts and masks of a scalar value below 0x110000 leave it below 256
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))  // allowed: a UTF-8 byte: the shifts and masks of a scalar value below 0x110000 leave it below 256
    }
}

/// GPT-2's reversible byte <-> printable character map used by the ByteLevel stages.
enum ByteLevelMap {
    /// Scalar value that stands for each byte.
    static let byteToScalar: [UInt32] = {
        var printable: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [UInt32](repeating: 0, count: 256)
        for b in printable { table[b] = UInt32(b) }
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            table[b] = UInt32(256 + n); n += 1  // allowed: scalar values and bytes widen (below 0x110000)
        }
        printable.removeAll()
        return table
    }()

    /// UTF-8 of each byte's character.
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { v in var o: [UInt8] = []; appendUTF8(v, to: &o); return o }

    /// Byte for a scalar value, or -1 when the scalar is not one of the 256 characters.
    static let scalarToByte: [Int16] = {
        var t = [Int16](repeating: -1, count: 324)
        for (b, v) in byteToScalar.enumerated() { t[Int(v)] = Int16(b) }  // allowed: scalar values and bytes widen (below 0x110000)
        return t
    }()

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return out
    }

    /// The bytes a byte-level token stands for, or nil when it contains another character.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            let v = Int(s.value)  // allowed: scalar values and bytes widen (below 0x110000)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[v]))  // allowed: the table holds bytes 0...255 (-1 entries are skipped above)
        }
        return out
    }
}
