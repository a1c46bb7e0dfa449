/// Generation: KV-cache decoding, sampling, stop rules, streaming, batching, adapters per request.
public enum TailorInference {}
