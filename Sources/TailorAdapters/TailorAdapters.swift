/// LoRA adapters beside a frozen base model, as peft defines them, for training and inference alike
/// (this module knows no optimizer and no generator).
///
///     let adapters = try PeftAdapterFolder.load(folder: URL(fileURLWithPath: "out/"), for: model)
///     try adapters.attach(to: model)                   // the model computes base + adapter ...
///     try adapters.detach(from: model)                 // ... and the base again
///     try adapters.mergeAndUnload(into: model)         // or folded in for good (peft's merge_and_unload)
///
///     let set = LoRAAdapterSet(model: other)           // several adapters, one active at a time
///     try set.addAdapter("huanhuan", try PeftAdapterFolder.load(folder: folder, for: other))
///     try set.setAdapter("huanhuan")
///
/// - `LoRA`: one Linear's side path (forward and backward); `LoRAConfig`: peft's LoraConfig settings.
/// - `LoRAAdapters`: the adapters of one model (`make` / `attach` / `detach`), with the full tensors
///   `bias` and `modules_to_save` train beside them (`AdapterTensor`).
/// - `PeftAdapterFolder` / `PeftAdapterWriter`: peft's folder, read and written (layout: TailorFormats'
///   `PeftAdapterLayout`).
/// - Errors: every failure is an `AdapterError` naming the option, file, field or tensor.
public enum TailorAdapters {}
