/// Dataset files -> conversations -> token ids + labels: formats, masking, packing, cleaning, splits.
///
///     let loaded = try DatasetLoader(options: .init(format: .auto)).load(paths: ["huanhuan.json"])
///     let encoder = try ConversationEncoder(tokenizer: tok, template: template, options: .init(maxLength: 2048))
///     let encoded = encoder.encodeAll(loaded.conversations)          // parallel, in order
///     let rows = Packer(maxLength: 2048).pack(encoded.samples)       // best-fit decreasing
///     // rows[i].sequences -> TailorModels.TokenBatch(sequences:)
///     // loaded.tokenized: records that held input_ids (format `tokenized`), already samples
///
/// Labels follow transformers: unshifted, -100 where not trained. Every sample keeps its source
/// file and line, so problems (fully masked samples, truncation, bad records) name where they are.
public enum TailorData {}
