import Foundation
import TailorFormats
import TailorModels

/// LoRA straight on a quantized GGUF: the frozen weights stay in the file's ggml blocks (Q4_0 ... Q6_K),
/// decoded inside each product, so the base never takes an f32 copy. The decoding is bit-exact, so a run on
/// the blocks computes what a run on the f32 import of the same file computes, up to the order of sums.
extension TrainingRun {
    /// Whether a run of `recipe` on the GGUF file `url` trains on its blocks as they are, and when it does not
    /// for a quantized file, why not (the file is then imported to an f32 folder first, as `tailor import gguf`
    /// writes one); `why` is empty for a file with unquantized linears.
    /// The blocks serve adapter training on the CPU whose frozen base is read only through products:
    /// LoRA, IA³ and AdaLoRA. Full fine-tuning trains the weights themselves; load_in_4bit quantizes a
    /// decoded copy again; DoRA reads f32 rows of the base for its norms; PiSSA and OLoRA rewrite the base.
    public static func ggufBlocksPlan(_ recipe: TrainRecipe, compute: TrainingBackend, gguf url: URL) throws -> (trainsOnBlocks: Bool, why: String) {
        let file = try GGUFFile(url: url)
        guard CausalLM.storesBlocks(gguf: file) else { return (false, "") }
        if recipe.finetuningType == .full { return (false, "full fine-tuning trains the weights, which need f32") }
        if compute.isAccelerator { return (false, "ggml blocks have no CUDA kernels yet") }
        if recipe.quantization.fourBit != nil { return (false, "load_in_4bit quantizes the decoded weights again") }
        if recipe.lora.useDora, recipe.peftType == .lora { return (false, "DoRA reads f32 rows of the base for its norms") }
        if recipe.lora.initLoraWeights.adjustsBase, recipe.peftType == .lora {
            return (false, "init_lora_weights \(recipe.lora.initLoraWeights) rewrites the base weights")
        }
        return (true, "")
    }

    /// The ggml-block tensors of the loaded model, by block type: how many, and the bytes they hold.
    public var ggufBlockTensors: [(type: String, count: Int, bytes: Int)] {
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for (_, tensor) in model.namedParameters where tensor.dtype.ggmlBlockType != nil {
            let entry = byType[tensor.dtype.rawValue, default: (0, 0)]
            byType[tensor.dtype.rawValue] = (entry.count + 1, entry.bytes + tensor.byteCount)
        }
        return byType.sorted { $0.key < $1.key }.map { ($0.key, $0.value.count, $0.value.bytes) }
    }
}
