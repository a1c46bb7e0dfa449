/// File formats of the Hugging Face ecosystem (safetensors, GGUF, JSON configs): no model semantics.
public enum TailorFormats {}
