/// A bounds-checked little-endian cursor over a byte buffer; every read past the end throws
/// `FormatError.truncated` naming the file and what was being read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    private func truncated(_ what: String, _ needed: Int) -> FormatError {
        .truncated(path: path, what: what, offset: offset, needed: needed, fileSize: bytes.count)
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw truncated(what(), size) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    /// `count` raw bytes.
    mutating func slice(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw truncated(what(), count) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// A GGUF string: uint64 length, then UTF-8 bytes (invalid UTF-8 is repaired with U+FFFD).
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else { throw truncated(what(), Int(clamping: length)) }  // allowed: length <= remaining (an Int) checked just before
        return String(decoding: try slice(Int(length), what()), as: UTF8.self)  // allowed: length <= remaining (an Int) checked just before
    }
}
