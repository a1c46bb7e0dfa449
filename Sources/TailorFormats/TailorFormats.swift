/// File formats of the Hugging Face / llama.cpp ecosystem, with no model semantics.
///
/// - safetensors: `SafetensorsFile` (one mmap'd, validated file), `SafetensorsCheckpoint` (a model folder:
///   `model.safetensors` or an index plus shards, or any single file), `SafetensorsWriter` (atomic writes,
///   byte-identical to `safetensors.torch.save_file`; sharded checkpoints as transformers writes them).
/// - GGUF: `GGUFFile` (versions 2 and 3: metadata with typed accessors, tensor infos, zero-copy data),
///   `GGMLType`, `GGMLDequantizer` (F32/F16/BF16, Q8_0, Q4_0/1, Q5_0/1, Q2_K..Q6_K to `Float`).
/// - Errors: every failure is a `FormatError` naming the file (and tensor or key) and saying what to do.
///
/// Buffers returned by `bytes(_:)` point into memory mappings and are valid only while the object that
/// returned them is alive.
public enum TailorFormats {}
