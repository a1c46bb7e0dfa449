/// The little-endian bytes ranks send each other (a step's sums, the optimizer state's names):
/// 64-bit words, and strings as a length word and UTF-8.
struct RankBytesWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append(_ value: UInt64) {
        for shift in stride(from: UInt64(0), to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func append(_ value: Double) { append(value.bitPattern) }

    mutating func append(count: Int) { append(UInt64(clamping: count)) }

    mutating func append(_ text: String) {
        let utf8 = Array(text.utf8)
        append(count: utf8.count)
        bytes += utf8
    }
}

/// Reads what `RankBytesWriter` wrote; each read is nil past the end or on a length that does not fit.
struct RankBytesReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    mutating func word() -> UInt64? {
        guard bytes.count - offset >= 8 else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }  // allowed: a byte and 0..<64 widen
        offset += 8
        return value
    }

    mutating func double() -> Double? { word().map(Double.init(bitPattern:)) }

    mutating func count() -> Int? { word().flatMap { Int(exactly: $0) } }

    mutating func string() -> String? {
        guard let length = count(), length <= bytes.count - offset else { return nil }
        defer { offset += length }
        return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
    }
}
