import TailorDigest

/// SHA-256 of a byte string, as lowercase hex: what convert_hf_to_gguf.py's pre-tokenizer check hashes.
/// The one implementation lives in TailorDigest (the hub client hashes downloads with it too).
enum SHA256 {
    static func hex(_ message: [UInt8]) -> String { TailorDigest.SHA256.hex(message) }
}
