import TailorTensor

/// How frozen linear weights are stored in 4 bits: transformers' `BitsAndBytesConfig(load_in_4bit=True, ...)`.
///
/// Every decoder linear (q/k/v/o, gate/up/down) is quantized; embeddings, norms and an untied lm_head stay
/// in their file dtype, as transformers skips the output embedding.
public struct FourBitQuantization: Sendable, Equatable {
    /// `bnb_4bit_quant_type`.
    public var format: FourBitFormat
    /// Elements per absmax block (bitsandbytes always uses 64 for load_in_4bit).
    public var blocksize: Int
    /// `bnb_4bit_use_double_quant`: the absmax values quantized again (~4.127 bits per weight instead of 4.5).
    public var doubleQuant: Bool
    /// `bnb_4bit_compute_dtype`: the dtype products are computed in. On the CPU 4-bit products follow the
    /// backend's `MatmulPrecision` as every product does (the `bf16` recipe key: bf16 products where the CPU
    /// has them, the dequantized weight rounded to bf16 as bitsandbytes' bfloat16 compute does), for f32 and
    /// bf16 alike; f16 is refused (no f16 math on the CPU).
    public var computeDType: DType

    public init(format: FourBitFormat = .nf4, blocksize: Int = 64, doubleQuant: Bool = false, computeDType: DType = .f32) {
        (self.format, self.blocksize, self.doubleQuant, self.computeDType) = (format, blocksize, doubleQuant, computeDType)
    }

    /// Bits each quantized weight takes, scales included: 4 + 32 / blocksize, or with double quantization
    /// 4 + 8 / blocksize + 32 / (blocksize · 256) (4.127 for 64).
    public var bitsPerWeight: Double {
        let b = Double(blocksize)
        return doubleQuant ? 4 + 8 / b + 32 / (b * Double(FourBitFormat.nestedBlocksize)) : 4 + 32 / b
    }

    /// Bytes a tensor of `elements` weights takes in these blocks (`FourBitBlocks.byteCount`): the
    /// packed codes, and per block an f32 absmax, or with double quantization an 8-bit code plus an
    /// f32 absmax per 256 codes, the offset and the 256-entry f32 code map.
    public func byteCount(elements: Int) -> Int {
        let packed = (elements + 1) / 2, blocks = (elements + blocksize - 1) / blocksize
        guard doubleQuant else { return packed + 4 * blocks }
        let nested = FourBitFormat.nestedBlocksize
        return packed + blocks + 4 * ((blocks + nested - 1) / nested) + 4 + 4 * 256
    }

    /// Whether the weight `name` (a Hugging Face weight name) is one transformers quantizes: the decoder's linears.
    public static func quantizes(_ name: String) -> Bool {
        name.hasPrefix("model.layers.") && name.hasSuffix("_proj.weight")
    }

    /// Quantizes `values` (the weight `name` of `shape`, row-major) and uploads it as a 4-bit tensor.
    func quantize(_ values: [Float], name: String, shape: [Int], source: String, backend: Backend) throws -> Tensor {
        let blocks = try values.withUnsafeBufferPointer {
            try FourBitQuantizer.quantize($0, format: format, blocksize: blocksize, doubleQuant: doubleQuant)
        }
        do { return try backend.upload(fourBit: blocks, shape: shape) } catch let error as TensorError {
            throw ModelError.tensor(error, during: "\(source): loading \(name) in \(format)")
        }
    }

    /// Throws for settings the CPU cannot honour.
    func validate(source: String) throws {
        do { try FourBitFormat.checkBlocksize(blocksize) } catch {
            throw ModelError.quantization(name: "blocksize", source: source, problem: "\(error)")
        }
        guard [.f32, .bf16].contains(computeDType) else {
            throw ModelError.quantization(name: "bnb_4bit_compute_dtype", source: source,
                                          problem: "\(computeDType) is not supported: the CPU has no float16 math; use float32 or bfloat16")
        }
    }
}
