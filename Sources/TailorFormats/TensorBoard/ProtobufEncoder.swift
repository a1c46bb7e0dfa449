/// Just enough of the protobuf wire format (proto3, little-endian) to write TensorBoard events.
///
/// Field keys are `(number << 3) | wireType`; wire types used: 0 varint, 1 fixed64, 2 length-delimited,
/// 5 fixed32. Fields are written in the order called (the canonical order is ascending field number).
struct ProtobufEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))  // allowed: rest < 0x80 here (the loop emits 7 bits at a time)
    }

    mutating func key(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)  // allowed: a non-negative field number or count widens to UInt64
    }

    /// An `int64` field (negative values take ten bytes, as protobuf's two's complement varint).
    mutating func int64(_ field: Int, _ value: Int64) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    /// A `double` field.
    mutating func double(_ field: Int, _ value: Double) {
        key(field, wireType: 1)
        littleEndian(value.bitPattern)
    }

    /// A `float` field.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, wireType: 5)
        littleEndian(value.bitPattern)
    }

    /// A `bytes` or embedded-message field.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(value.count))  // allowed: a non-negative field number or count widens to UInt64
        bytes.append(contentsOf: value)
    }

    /// A `string` field (UTF-8).
    mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
