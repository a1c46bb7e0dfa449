import CZlib

/// Writes 8-bit truecolor (RGB, color type 2) PNG files from the specification (ISO/IEC 15948):
/// the signature, `IHDR`, one `IDAT` holding the zlib stream of the scanlines (each prefixed with
/// filter type 0, None), `IEND`; each chunk `length, type, data, CRC-32(type + data)`.
public enum PNGEncoder {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The PNG bytes of `image`.
    /// - Throws: `FormatError.cannotWrite` if zlib's `compress2` fails.
    public static func encode(_ image: RGBImage, path: String = "<png>") throws -> [UInt8] {
        var header: [UInt8] = []
        header += bigEndian(UInt32(image.width))  // allowed: image sizes and chunk lengths of an in-memory chart image, far below 2^32
        header += bigEndian(UInt32(image.height))  // allowed: image sizes and chunk lengths of an in-memory chart image, far below 2^32
        header += [8, 2, 0, 0, 0]  // bit depth 8, RGB, deflate, adaptive filtering, no interlace

        let compressed = try deflate(rawScanlines(image), path: path)
        var out = signature
        out += chunk("IHDR", header)
        out += chunk("IDAT", compressed)
        out += chunk("IEND", [])
        return out
    }

    /// Each row prefixed with filter byte 0: what inflating `IDAT` gives back.
    public static func rawScanlines(_ image: RGBImage) -> [UInt8] {
        let stride = image.width * 3
        var raw: [UInt8] = []
        raw.reserveCapacity((stride + 1) * image.height)
        for row in 0..<image.height {
            raw.append(0)
            raw += image.pixels[row * stride..<(row + 1) * stride]
        }
        return raw
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        var body = typeBytes + data
        let crc = body.withUnsafeBufferPointer { buffer in
            UInt32(crc32(crc32(0, nil, 0), buffer.baseAddress, uInt(buffer.count)))  // allowed: zlib crc32 returns a 32-bit value in a uLong
        }
        body += bigEndian(crc)
        return bigEndian(UInt32(data.count)) + body  // allowed: image sizes and chunk lengths of an in-memory chart image, far below 2^32
    }

    static func deflate(_ raw: [UInt8], path: String) throws -> [UInt8] {
        var capacity = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))  // allowed: image sizes and chunk lengths of an in-memory chart image, far below 2^32
        let status = out.withUnsafeMutableBufferPointer { target in
            raw.withUnsafeBufferPointer { source in
                compress2(target.baseAddress, &capacity, source.baseAddress, uLong(source.count), 9)
            }
        }
        guard status == Z_OK else {
            throw FormatError.cannotWrite(path: path, reason: "zlib compress2 failed with status \(status) (out of memory?)")
        }
        out.removeSubrange(Int(capacity)...)  // allowed: image sizes and chunk lengths of an in-memory chart image, far below 2^32
        return out
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),  // allowed: the top byte of a UInt32
         UInt8(truncatingIfNeeded: value)]
    }
}
