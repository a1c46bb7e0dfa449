/// One tensor in a bitsandbytes 4-bit format: the packed codes and the per-block scales, as
/// `bitsandbytes.functional.quantize_4bit` makes them and a `*.bitsandbytes__nf4` folder stores them.
///
/// Element `i` of the flattened (row-major) tensor is block `i / blocksize`; elements 2j and 2j+1
/// share byte j (2j in the high nibble). An odd element count pads one zero code.
public struct FourBitBlocks: Sendable, Equatable {
    public var format: FourBitFormat
    public var blocksize: Int
    /// Number of elements.
    public var count: Int
    /// (count + 1) / 2 bytes of 4-bit indices.
    public var packed: [UInt8]
    public var scales: FourBitScales

    public init(format: FourBitFormat, blocksize: Int, count: Int, packed: [UInt8], scales: FourBitScales) throws {
        try FourBitFormat.checkBlocksize(blocksize)
        let blocks = (count + blocksize - 1) / blocksize
        guard packed.count == (count + 1) / 2 else {
            throw TensorError.quantizedDataMismatch(part: "packed codes", expected: (count + 1) / 2, got: packed.count)
        }
        switch scales {
        case let .plain(absmax):
            guard absmax.count == blocks else {
                throw TensorError.quantizedDataMismatch(part: "absmax", expected: blocks, got: absmax.count)
            }
        case let .nested(nested):
            guard nested.codes.count == blocks else {
                throw TensorError.quantizedDataMismatch(part: "absmax (8-bit codes)", expected: blocks, got: nested.codes.count)
            }
            let outer = (blocks + nested.blocksize - 1) / max(nested.blocksize, 1)
            guard nested.blocksize > 0, nested.absmax.count == outer else {
                throw TensorError.quantizedDataMismatch(part: "nested_absmax", expected: outer, got: nested.absmax.count)
            }
            guard nested.code.count == 256 else {
                throw TensorError.quantizedDataMismatch(part: "nested_quant_map", expected: 256, got: nested.code.count)
            }
        }
        (self.format, self.blocksize, self.count, self.packed, self.scales) = (format, blocksize, count, packed, scales)
    }

    public var blockCount: Int { (count + blocksize - 1) / blocksize }

    /// Bytes this tensor really holds: the packed codes plus its scales.
    public var byteCount: Int { packed.count + scales.byteCount }

    /// The fp32 absmax of each block (double quantization undone as bitsandbytes does:
    /// code[q] · nested_absmax, then + offset, in float32).
    public func absmax() -> [Float] {
        switch scales {
        case let .plain(absmax): return absmax
        case let .nested(nested):
            return nested.codes.indices.map { i in
                nested.code[Int(nested.codes[i])] * nested.absmax[i / nested.blocksize] + nested.offset  // allowed: UInt8 widens to Int
            }
        }
    }

    /// Dequantizes elements `range` (of the flattened tensor) into `out` (range.count floats):
    /// code[index] · absmax[block] in float32, as bitsandbytes' CPU `dequantize_4bit` does for a tensor
    /// whose last dimension is odd or not (`FourBitFormat.dequantizationCode`: only the sign of FP4's zero differs).
    public func dequantize(_ range: Range<Int>, absmax: [Float], oddLastDimension: Bool = false,
                           into out: UnsafeMutablePointer<Float>) {
        let code = format.dequantizationCode(oddLastDimension: oddLastDimension)
        code.withUnsafeBufferPointer { code in
            packed.withUnsafeBufferPointer { packed in
                for i in range {
                    let byte = packed[i >> 1]
                    let index = i & 1 == 0 ? Int(byte >> 4) : Int(byte & 0x0F)  // allowed: UInt8 nibbles widen to Int
                    out[i - range.lowerBound] = code[index] * absmax[i / blocksize]
                }
            }
        }
    }

    /// All elements, dequantized to float32.
    public func dequantized(oddLastDimension: Bool = false) -> [Float] {
        let absmax = absmax()
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { dequantize(0..<count, absmax: absmax, oddLastDimension: oddLastDimension, into: base) }
            initialized = count
        }
    }
}

/// The per-block scales of a 4-bit tensor: fp32 absmax values, or (double quantization) their
/// 8-bit codes with an fp32 absmax per 256 of them and the mean that was subtracted first.
public enum FourBitScales: Sendable, Equatable {
    case plain([Float])
    case nested(NestedAbsmax)

    public var byteCount: Int {
        switch self {
        case let .plain(absmax): return absmax.count * 4
        case let .nested(nested): return nested.codes.count + nested.absmax.count * 4 + 4 + nested.code.count * 4
        }
    }
}

/// Double-quantized absmax values (bitsandbytes' `state2`): absmax[i] = code[codes[i]] · absmax2[i / blocksize] + offset.
public struct NestedAbsmax: Sendable, Equatable {
    /// One 8-bit code per 4-bit block (`*.absmax` in a saved folder, uint8).
    public var codes: [UInt8]
    /// fp32 absmax per `blocksize` codes (`*.nested_absmax`).
    public var absmax: [Float]
    /// The mean subtracted before quantizing (`nested_offset` in the quant state).
    public var offset: Float
    /// The 256-entry map (`*.nested_quant_map`); bitsandbytes writes `DynamicMap.signed`.
    public var code: [Float]
    /// Codes per nested block (256).
    public var blocksize: Int

    public init(codes: [UInt8], absmax: [Float], offset: Float, code: [Float] = DynamicMap.signed,
                blocksize: Int = FourBitFormat.nestedBlocksize) {
        (self.codes, self.absmax, self.offset, self.code, self.blocksize) = (codes, absmax, offset, code, blocksize)
    }
}
