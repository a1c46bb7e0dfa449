import TailorAdapters

extension LoRAAdapters {
    /// The trainable tensors (A then B of each module, then `tensors`) with their Hugging Face names.
    /// Weight decay as transformers.Trainer groups them: none on biases and norms.
    public var parameters: [TrainableParameter] {
        trainableTensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: $0.isLoRA || FullFineTuning.decays($0.name)) }
    }
}

extension IA3Adapters {
    /// The trainable tensors (each module's l, then `tensors`) with their Hugging Face names.
    /// Weight decay as transformers.Trainer groups them: the vectors decay (their names hold no
    /// "bias" or norm), biases and norms of `modules_to_save` copies do not.
    public var parameters: [TrainableParameter] {
        trainableTensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: $0.isIA3 || FullFineTuning.decays($0.name)) }
    }
}

extension AdaLoRAAdapters {
    /// The trainable tensors (each module's A, B and E, then `tensors`) with their Hugging Face
    /// names. Weight decay as transformers.Trainer groups them: A, E and B decay, biases and norms
    /// of `modules_to_save` copies do not.
    public var parameters: [TrainableParameter] {
        trainableTensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: $0.isAdaLoRA || FullFineTuning.decays($0.name)) }
    }
}
