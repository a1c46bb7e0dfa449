/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord framing.
///
/// `CRC32C.checksum(Array("123456789".utf8)) == 0xE3069283` (the standard check value).
public enum CRC32C {
    /// One table of 256 entries, built once from the polynomial.
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)  // allowed: a byte or table index below 256
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// CRC-32C of `bytes` (initial value and final xor 0xFFFFFFFF).
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }  // allowed: a byte or table index below 256
        return crc ^ 0xFFFF_FFFF
    }

    /// The TFRecord mask: rotate right by 15 bits and add 0xA282EAD8 (modulo 2^32).
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
