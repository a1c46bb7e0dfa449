import TailorTensor

/// Dequantization of ggml tensor data to `Float`.
///
/// Block layouts as in ggml (`ggml-common.h`) and the gguf Python package (`gguf/quants.py`); each type
/// computes in the same order of float32 operations as `gguf.quants.dequantize`, so results match it
/// bit for bit (the fixture tests check exact equality). Values come out in ggml order: innermost
/// dimension (`dims[0]`) fastest, which is row-major order of the reversed `shape`.
public enum GGMLDequantizer {
    /// Dequantizes `count` values of `type` from `bytes`.
    /// - Throws: `FormatError.unsupportedGGMLType` when the type cannot be dequantized;
    ///   `.byteCountMismatch` when `bytes` is not exactly the size of `count` values (or `count` is not a
    ///   whole number of blocks). Both name the pseudo-file `path` / `tensor` given.
    public static func dequantize(
        _ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int, path: String = "<memory>", tensor: String = ""
    ) throws -> [Float] {
        guard type.canDequantize else {
            throw FormatError.unsupportedGGMLType(path: path, tensor: tensor, type: type.name)
        }
        guard let expected = type.byteCount(elements: count), expected == bytes.count else {
            throw FormatError.byteCountMismatch(path: path, tensor: tensor, expected: type.byteCount(elements: count) ?? -1,
                                                actual: bytes.count)
        }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0, let base = bytes.baseAddress, let y = out.baseAddress {
                decode(base.assumingMemoryBound(to: UInt8.self), type: type, count: count, into: y)
            }
            initialized = count
        }
    }

    /// Decodes `count` values; the caller has checked the type and the sizes.
    static func decode(_ x: UnsafePointer<UInt8>, type: GGMLType, count: Int, into y: UnsafeMutablePointer<Float>) {
        if let block = type.blockType {
            block.decode(x, blocks: count / block.blockSize, into: y)
            return
        }
        let raw = UnsafeRawPointer(x)
        func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T { T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
        switch type {
        case .f32: UnsafeMutableRawPointer(y).copyMemory(from: x, byteCount: count * 4)
        case .f16: for i in 0..<count { y[i] = HalfPrecision.f16ToFloat(load(i, UInt16.self)) }
        case .bf16: for i in 0..<count { y[i] = HalfPrecision.bf16ToFloat(load(i, UInt16.self)) }
        case .f64: for i in 0..<count { y[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case .i8: for i in 0..<count { y[i] = Float(Int8(bitPattern: x[i])) }
        case .i16: for i in 0..<count { y[i] = Float(load(i, Int16.self)) }
        case .i32: for i in 0..<count { y[i] = Float(load(i, Int32.self)) }
        case .i64: for i in 0..<count { y[i] = Float(load(i, Int64.self)) }
        default: for i in 0..<count { y[i] = .nan }  // unreachable: checked by canDequantize
        }
    }
}
