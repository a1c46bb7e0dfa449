#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorJSON
import TailorTensor

/// How transformers + bitsandbytes save a 4-bit weight `W` (`save_pretrained` of a `load_in_4bit` model):
///
///     W                                  packed codes, uint8 [(n + 1) / 2, 1] (or that many bytes in another
///                                        `bnb_4bit_quant_storage` dtype)
///     W.absmax                           float32 [blocks], or with double quant uint8 [blocks] (8-bit codes)
///     W.quant_map                        float32 [16]: the NF4 / FP4 code
///     W.nested_absmax, W.nested_quant_map  float32 [blocks / 256], [256] (double quant only)
///     W.quant_state.bitsandbytes__nf4    uint8 bytes of JSON: quant_type, blocksize, dtype, shape,
///                                        and with double quant nested_blocksize, nested_dtype, nested_offset
public enum BitsAndBytesLayout {
    /// Names of the quant-state tensors of `weight` for each format.
    public static func quantStateName(_ weight: String, _ format: FourBitFormat) -> String {
        "\(weight).quant_state.bitsandbytes__\(format.rawValue)"
    }

    /// Whether the checkpoint stores `weight` in 4 bits (it has a quant state tensor).
    public static func isFourBit(_ weight: String, in checkpoint: SafetensorsCheckpoint) -> Bool {
        FourBitFormat.allCases.contains { checkpoint.info(quantStateName(weight, $0)) != nil }
    }

    /// Reads the 4-bit weight `weight`, checking that it is `shape` and that every part fits.
    /// - Throws: `FormatError.quantizedTensor` naming the tensor and what to do.
    public static func read(_ weight: String, shape: [Int], in checkpoint: SafetensorsCheckpoint) throws -> FourBitBlocks {
        let path = checkpoint.indexURL?.path ?? checkpoint.url.path
        func fail(_ tensor: String, _ problem: String) -> FormatError {
            FormatError.quantizedTensor(path: path, tensor: tensor, problem: problem)
        }
        func required(_ name: String, _ what: String) throws -> SafetensorsTensorInfo {
            guard let info = checkpoint.info(name) else {
                throw fail(name, "is missing (\(what)); the folder is incomplete: download or save it again with transformers")
            }
            return info
        }
        guard let format = FourBitFormat.allCases.first(where: { checkpoint.info(quantStateName(weight, $0)) != nil }) else {
            throw fail(quantStateName(weight, .nf4), "is missing (the quant state of \(weight)); a 4-bit folder holds one "
                       + "quant_state.bitsandbytes__nf4 or __fp4 tensor per quantized weight: save it again with transformers")
        }
        let stateName = quantStateName(weight, format)
        let stateBytes = Array(try checkpoint.bytes(stateName))
        let state: JSONObject
        do {
            guard let object = try JSONValue(parsing: stateBytes, file: stateName).objectValue else {
                throw fail(stateName, "is not a JSON object")
            }
            state = object
        } catch let error as JSONError {
            throw fail(stateName, "is not valid JSON (\(error.detail))")
        }
        if let type = state["quant_type"]?.stringValue, type != format.rawValue {
            throw fail(stateName, "says quant_type '\(type)' but its name says \(format)")
        }
        guard let blocksize = state["blocksize"]?.integralValue else { throw fail(stateName, "has no integer blocksize") }
        guard FourBitFormat.blocksizes.contains(blocksize) else {
            throw fail(stateName, "has blocksize \(blocksize), which bitsandbytes does not accept (\(FourBitFormat.blocksizes.map(String.init).joined(separator: ", ")))")
        }
        guard let savedShape = state["shape"]?.arrayValue(of: { $0.integralValue }) else {
            throw fail(stateName, "has no shape")
        }
        guard savedShape == shape else {
            throw fail(weight, "has shape \(savedShape) but config.json implies \(shape); config.json and the weights disagree")
        }
        let count = shape.reduce(1, *)
        let blocks = (count + blocksize - 1) / blocksize
        let packedInfo = try required(weight, "the packed 4-bit codes")
        guard packedInfo.dataOffsets.count == (count + 1) / 2 else {
            throw fail(weight, "holds \(packedInfo.dataOffsets.count) bytes of codes; shape \(shape) needs \((count + 1) / 2)")
        }
        let packed = Array(try checkpoint.bytes(weight))
        if let mapInfo = checkpoint.info(weight + ".quant_map") {
            let map = try checkpoint.floats(mapInfo.name)
            guard map.map(\.bitPattern) == format.code.map(\.bitPattern) else {
                throw fail(mapInfo.name, "is not bitsandbytes' \(format) code; Tailor dequantizes with the standard code only")
            }
        }
        let absmaxName = weight + ".absmax"
        let absmaxInfo = try required(absmaxName, "the per-block scales")
        guard absmaxInfo.elementCount == blocks else {
            throw fail(absmaxName, "has \(absmaxInfo.elementCount) entries; \(count) elements in blocks of \(blocksize) need \(blocks)")
        }
        let scales: FourBitScales
        if state["nested_offset"] != nil || checkpoint.info(weight + ".nested_absmax") != nil {
            guard let offset = state["nested_offset"]?.doubleValue else { throw fail(stateName, "has no nested_offset") }
            let nestedBlocksize = state["nested_blocksize"]?.integralValue ?? FourBitFormat.nestedBlocksize
            guard absmaxInfo.dtype == .u8 else { throw fail(absmaxName, "must be uint8 codes with double quantization, not \(absmaxInfo.dtype.rawValue)") }
            let nestedName = weight + ".nested_absmax", mapName = weight + ".nested_quant_map"
            _ = try required(nestedName, "the scales of the double-quantized absmax")
            _ = try required(mapName, "the 8-bit map of the double-quantized absmax")
            let nested = NestedAbsmax(codes: Array(try checkpoint.bytes(absmaxName)), absmax: try checkpoint.floats(nestedName),
                                      offset: Float(offset), code: try checkpoint.floats(mapName),
                                      blocksize: max(nestedBlocksize, 1))
            scales = .nested(nested)
        } else {
            scales = .plain(try checkpoint.floats(absmaxName))
        }
        do {
            return try FourBitBlocks(format: format, blocksize: blocksize, count: count, packed: packed, scales: scales)
        } catch {
            throw fail(weight, "\(error)")
        }
    }
}
