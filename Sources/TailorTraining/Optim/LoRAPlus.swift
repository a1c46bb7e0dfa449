import TailorFormats

/// LoRA+ (Hayou et al. 2024) as peft 0.21's `create_loraplus_optimizer` groups the parameters, the
/// recipe key named as LLaMA-Factory names it (`loraplus_lr_ratio`):
///
/// | group | tensors | learning rate | weight decay |
/// |---|---|---|---|
/// | A | every other tensor (lora_A, 2-D modules_to_save copies) | lr | weight_decay |
/// | B | lora_B, and 1-D tensors (DoRA magnitudes, norm copies) whose name has no "bias" | lr × ratio | weight_decay |
/// | B, no decay | 1-D tensors whose name has "bias" | lr × ratio | 0 |
/// | embedding | LoRA on Embedding layers | `loraplus_lr_embedding` | weight_decay |
///
/// The schedule scales every group's rate alike (torch's LambdaLR). peft takes the groups' decay
/// from its own `loraplus_weight_decay`; Tailor gives it the run's `weight_decay`, so
/// `weight_decay: 0.1` with LoRA+ is peft's `loraplus_weight_decay=0.1`. Tailor adapts no Embedding
/// with LoRA (modules_to_save copies of embed_tokens are A's, as in peft, whose test is on the
/// module type), so the embedding group is always empty and `loraplus_lr_embedding` has nothing to set.
public struct LoRAPlus: Sendable, Equatable {
    public var ratio: Double
    public var embeddingLR: Double

    public init(ratio: Double, embeddingLR: Double = 1e-6) {
        self.ratio = ratio
        self.embeddingLR = embeddingLR
    }

    /// Whether `parameter` is in one of the B groups.
    public static func isB(_ parameter: TrainableParameter) -> Bool {
        parameter.name.hasSuffix(PeftAdapterLayout.loraBSuffix) || parameter.value.rank == 1
    }

    /// `parameters` with LoRA+'s learning-rate scales and decay groups.
    public func grouped(_ parameters: [TrainableParameter]) -> [TrainableParameter] {
        parameters.map { parameter in
            guard Self.isB(parameter) else {
                return TrainableParameter(name: parameter.name, value: parameter.value, weightDecay: true)
            }
            return TrainableParameter(name: parameter.name, value: parameter.value, weightDecay: !parameter.name.contains("bias"),
                                      learningRateScale: ratio)
        }
    }
}
