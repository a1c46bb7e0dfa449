import TailorAdapters
import TailorModels

extension StepRunner {
    /// Trains P-tuning's encoder: the virtual tokens' table gradient (`VirtualTokens.gradientName`,
    /// kept beside the parameters' and zeroed before the norm) goes back through the encoder after
    /// each step's micro-batches, and the table is computed again after each optimizer step.
    public func train(pTuning encoder: PTuning) throws {
        let backend = model.backend
        if gradients[VirtualTokens.gradientName] == nil {
            try gradients.add(VirtualTokens.gradientName, shape: encoder.table.shape, backend: backend)
        }
        afterBackward = { gradients in
            guard let dTable = gradients[VirtualTokens.gradientName] else { return }
            try encoder.backward(dTable: dTable, gradients: gradients, backend: backend)
            try backend.fill(dTable, value: 0)
        }
        afterOptimizerStep = { _, _ in try encoder.refresh(backend: backend) }
    }
}

extension PTuning {
    /// The encoder's tensors as the optimizer trains them, under peft's names; Trainer's
    /// weight-decay group holds the embedding and the weights, not the biases.
    public var parameters: [TrainableParameter] {
        tensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: !$0.name.hasSuffix(".bias")) }
    }
}
