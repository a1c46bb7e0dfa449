import TailorFormats
import TailorTokenizers

/// A GGUF file's metadata, read the way `GGUFVocabulary(metadata:)` asks for it (TailorTokenizers
/// does not import TailorFormats, so the conformance lives here, where both meet).
extension GGUFFile: GGUFMetadataSource {}
