import TailorModels
import TailorTensor

/// One parameter of a model with its adapters merged, computed only when asked for: the base tensor, or
/// W + scaling · B·A in f32 for this tensor alone narrowed to the base dtype (see `MergedParameter`).
/// Exporters walk these one at a time, so a merge never holds more than one merged weight.
public struct MergedTensor: Sendable {
    /// Hugging Face name.
    public let name: String
    public var shape: [Int] { parameter.source.shape }
    /// The dtype the merged value is stored in (the base parameter's).
    public var dtype: DType { parameter.dtype }
    /// Whether a LoRA update is folded in.
    public var isAdapted: Bool { parameter.update != nil }
    let parameter: MergedParameter

    /// The merged value.
    public func make(on backend: Backend) throws -> Tensor { try parameter.make(on: backend) }

    /// `model`'s own parameters, unchanged (no adapter), in `namedParameters` order.
    public static func parameters(of model: CausalLM) -> [MergedTensor] {
        model.namedParameters.map { name, tensor in
            MergedTensor(name: name, parameter: MergedParameter(name: name, source: tensor, update: nil, dtype: tensor.dtype))
        }
    }
}

extension LoRAAdapters {
    /// The merged model's parameters in `model.namedParameters` order, without changing the model (the
    /// adapters' tensors are put in place only while they are listed, and the model is left as it was).
    /// - Returns: the tensors, and whether an output layer tied to the embeddings is untied by a
    ///   `modules_to_save` copy (then the list has both embed_tokens and lm_head).
    /// A 4-bit base weight is dequantized and kept in `dequantizedDType`.
    public func mergedTensors(of model: CausalLM, dequantizedDType: DType = .f32) throws -> (tensors: [MergedTensor], untiesOutput: Bool) {
        let wasInstalled = displaced != nil
        let parameters = try mergedParameters(installingOn: model, dequantizedDType: dequantizedDType)
        let untied = model.config.tieWordEmbeddings && model.lmHead.name == CausalLM.lmHeadName
        if !wasInstalled { try restore(on: model) }
        return (parameters.map { MergedTensor(name: $0.name, parameter: $0) }, untied)
    }
}
