/// Everything that can go wrong reading or writing a file format in `TailorFormats`.
///
/// Every case names the file (its path as given) and, where it matters, the tensor or key, and the
/// `description` says what was wrong and what to do next. Nothing in this module traps on bad file
/// contents: malformed input always surfaces as one of these errors.
public enum FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: Files

    /// The file could not be opened, stat'ed, mapped or read (`reason` is the OS error).
    case cannotOpen(path: String, reason: String)
    /// The file could not be written, synced or renamed into place (`reason` is the OS error).
    case cannotWrite(path: String, reason: String)
    /// The file ends before a structure it must contain (`needed` bytes from `offset`).
    case truncated(path: String, what: String, offset: Int, needed: Int, fileSize: Int)

    // MARK: Safetensors

    /// The 8-byte header length is larger than the file or larger than the 100 MB limit.
    case badHeaderLength(path: String, headerLength: UInt64, fileSize: Int)
    /// The JSON header does not parse, or is not an object (`detail` says where).
    case invalidHeader(path: String, detail: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one of them has the wrong JSON type.
    case invalidTensorEntry(path: String, tensor: String, detail: String)
    /// A dtype string this reader does not know.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A dimension is negative or the element count overflows.
    case invalidShape(path: String, tensor: String, shape: [Int])
    /// `data_offsets` are reversed, overlap another tensor, leave a gap, or point past the data section.
    case invalidOffsets(path: String, tensor: String, detail: String)
    /// `end - begin` differs from `product(shape) * dtype size`.
    case byteCountMismatch(path: String, tensor: String, expected: Int, actual: Int)
    /// A tensor name that the file (or checkpoint) does not contain.
    case tensorNotFound(path: String, tensor: String)
    /// The tensor's element type cannot be converted as asked (e.g. a quantized type to `Float`).
    case unsupportedConversion(path: String, tensor: String, from: String, to: String)
    /// The folder holds neither `model.safetensors` nor `model.safetensors.index.json`.
    case noSafetensors(folder: String, found: [String])
    /// The sharded-checkpoint index is malformed.
    case invalidIndex(path: String, detail: String)
    /// The index names a shard file that is not there.
    case missingShard(index: String, shard: String)
    /// The index maps `tensor` to `shard`, but that shard does not contain it.
    case tensorMissingFromShard(index: String, shard: String, tensor: String)
    /// The index maps `tensor` to a shard path that leaves the model folder (absolute, `..`, or a link
    /// out of it), which Tailor does not follow.
    case shardOutsideFolder(index: String, tensor: String, shard: String, problem: String)
    /// Input given to a writer is inconsistent (duplicate names, bytes that do not match the shape ...).
    case invalidWriterInput(path: String, detail: String)

    // MARK: GGUF

    /// The file does not start with the `GGUF` magic.
    case notGGUF(path: String, magic: [UInt8])
    /// A GGUF version other than 2 or 3, or a big-endian file.
    case unsupportedGGUFVersion(path: String, version: UInt32)
    /// A metadata entry or tensor info is malformed (`detail` says which and how).
    case invalidGGUF(path: String, detail: String)
    /// A metadata key that is absent, or holds a value of another type than asked.
    case metadataKey(path: String, key: String, detail: String)
    /// A ggml type this reader does not know or cannot dequantize.
    case unsupportedGGMLType(path: String, tensor: String, type: String)
    /// A bitsandbytes 4-bit weight (or one of its `*.absmax`, `*.quant_state.*` ... tensors) is missing or wrong.
    case quantizedTensor(path: String, tensor: String, problem: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open \(path): \(reason). Check that the path exists and is readable."
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason). Check free disk space and write permission on the folder."
        case let .truncated(path, what, offset, needed, fileSize):
            return "\(path) is truncated: \(what) needs \(needed) bytes at offset \(offset), but the file has "
                + "\(fileSize) bytes. The file is incomplete; download or copy it again."
        case let .badHeaderLength(path, headerLength, fileSize):
            return "\(path): safetensors header length \(headerLength) is impossible for a file of \(fileSize) bytes "
                + "(limit 100000000). This is not a safetensors file, or it is corrupt; download it again."
        case let .invalidHeader(path, detail):
            return "\(path): the safetensors JSON header is invalid: \(detail). The file is corrupt or not a "
                + "safetensors file; download it again or re-save it with `safetensors`."
        case let .invalidTensorEntry(path, tensor, detail):
            return "\(path): tensor \"\(tensor)\": \(detail). Each tensor entry needs \"dtype\" (string), "
                + "\"shape\" (array of integers) and \"data_offsets\" ([begin, end]); re-save the file with `safetensors`."
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor \"\(tensor)\" has unknown dtype \"\(dtype)\". Convert it to F32/F16/BF16 with "
                + "`safetensors` in Python, or report the dtype if it should be supported."
        case let .invalidShape(path, tensor, shape):
            return "\(path): tensor \"\(tensor)\" has invalid shape \(shape) (negative dimension or too many elements). "
                + "The file is corrupt; download it again."
        case let .invalidOffsets(path, tensor, detail):
            return "\(path): tensor \"\(tensor)\": \(detail). The file is corrupt or truncated; download it again."
        case let .byteCountMismatch(path, tensor, expected, actual):
            return "\(path): tensor \"\(tensor)\" occupies \(actual) bytes but its shape and dtype need \(expected). "
                + "The file is corrupt; download it again."
        case let .tensorNotFound(path, tensor):
            return "\(path) has no tensor named \"\(tensor)\". Check the spelling against the file's tensor names "
                + "(`tensorNames`) and that the file belongs to the expected model architecture."
        case let .unsupportedConversion(path, tensor, from, to):
            return "\(path): tensor \"\(tensor)\" of type \(from) cannot be converted to \(to). Convert the file to "
                + "F32/F16/BF16 first."
        case let .noSafetensors(folder, found):
            let list = found.isEmpty ? "none" : found.joined(separator: ", ")
            return "\(folder) has neither model.safetensors nor model.safetensors.index.json (safetensors files "
                + "found: \(list)). Pass the .safetensors file itself, or download the model's safetensors weights "
                + "(PyTorch .bin checkpoints are not read)."
        case let .invalidIndex(path, detail):
            return "\(path): invalid safetensors index: \(detail). It must be a JSON object with a \"weight_map\" "
                + "object mapping tensor names to shard file names; download it again."
        case let .missingShard(index, shard):
            return "shard \(shard) listed in \(index) is missing. Download the complete checkpoint (all shards)."
        case let .tensorMissingFromShard(index, shard, tensor):
            return "\(index) maps tensor \"\(tensor)\" to \(shard), but that shard does not contain it. The index "
                + "and the shards come from different versions; download the checkpoint again."
        case let .shardOutsideFolder(index, tensor, shard, problem):
            return "\(index): weight_map[\"\(tensor)\"] is \"\(shard)\", which \(problem). Shards must be files in the model"
                + " folder named relative to it, as transformers writes them; fix the index or download the model again."
        case let .invalidWriterInput(path, detail):
            return "cannot write \(path): \(detail). This is a bug in the caller; fix the tensors passed to the writer."
        case let .notGGUF(path, magic):
            let hex = magic.map { String($0, radix: 16) }.joined(separator: " ")
            return "\(path) is not a GGUF file (starts with bytes \(hex), expected \"GGUF\"). Check the path."
        case let .unsupportedGGUFVersion(path, version):
            return "\(path) has GGUF version \(version); only little-endian versions 2 and 3 are read. Convert it "
                + "with a current llama.cpp (`convert_hf_to_gguf.py` / `gguf-new-metadata`)."
        case let .invalidGGUF(path, detail):
            return "\(path): invalid GGUF: \(detail). The file is corrupt or truncated; download it again."
        case let .metadataKey(path, key, detail):
            return "\(path): metadata key \"\(key)\": \(detail). Check that the file was converted for a supported "
                + "architecture."
        case let .unsupportedGGMLType(path, tensor, type):
            return "\(path): tensor \"\(tensor)\" has ggml type \(type), which Tailor cannot dequantize. Re-quantize "
                + "the model to Q8_0, Q4_K_M, Q6_K, F16 or another supported type with llama.cpp's `llama-quantize`."
        case let .quantizedTensor(path, tensor, problem):
            return "\(path): 4-bit tensor \"\(tensor)\": \(problem)"
        }
    }
}
