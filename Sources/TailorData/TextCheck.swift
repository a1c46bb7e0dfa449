/// What every data file's bytes must be before records are read from them: UTF-8 text, with a
/// leading byte order mark allowed (and skipped, as pandas and Python's `utf-8-sig` do).
///
/// A file in another encoding (Latin-1, GBK, UTF-16) is an error naming the first bad byte's line,
/// column and offset, never text repaired into U+FFFD and trained on.
enum TextCheck {
    /// The UTF-8 byte order mark, EF BB BF.
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Whether `bytes` start with the UTF-8 byte order mark.
    static func startsWithByteOrderMark<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        bytes.starts(with: byteOrderMark)
    }

    /// The offset (from `bytes.startIndex`) of the first byte that does not begin or continue a valid
    /// UTF-8 sequence, or nil when all of `bytes` is UTF-8. Checked 1 MiB at a time (a window never
    /// ends inside a sequence), so a whole file is never copied.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            var end = min(start + (1 << 20), bytes.endIndex)
            var back = 0
            while end < bytes.endIndex, back < 3, bytes[end] & 0xC0 == 0x80 { end -= 1; back += 1 }
            let window = bytes[start..<end]
            // The stdlib's validation is the fast path; the scalar parser finds the place only when needed.
            if !window.allSatisfy({ $0 < 0x80 }), String(validating: window, as: UTF8.self) == nil {
                var parser = Unicode.UTF8.ForwardParser()
                var iterator = window.makeIterator()
                var offset = start - bytes.startIndex
                while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
                return offset
            }
            start = end
        }
        return nil
    }

    /// Throws when `bytes` (a whole file, or one line of it) are not UTF-8.
    /// - Parameters:
    ///   - line: the line `bytes` start on; `fileOffset`: the file offset of `bytes.startIndex`.
    /// - Throws: `DataError.malformedFile` naming the line, column and byte offset of the first bad byte.
    static func requireUTF8(_ bytes: ArraySlice<UInt8>, file: String, line: Int = 1, fileOffset: Int) throws {
        guard let bad = firstInvalidUTF8(bytes) else { return }
        let at = bytes.startIndex + bad
        var (badLine, column) = (line, 1)
        // Everything before `at` is valid UTF-8: columns count the bytes that start a scalar.
        for b in bytes[bytes.startIndex..<at] {
            if b == 0x0A { badLine += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        let hex = String(bytes[at], radix: 16, uppercase: true)
        throw DataError.malformedFile(
            path: file, line: badLine, column: column,
            reason: "byte 0x\(hex.count == 1 ? "0" + hex : hex) at byte offset \(fileOffset + bad) is not valid UTF-8."
                + " Data files must be UTF-8 text; convert one in another encoding first (for Latin-1:"
                + " iconv -f latin1 -t utf-8 IN > OUT)")
    }
}
