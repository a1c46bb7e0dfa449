import TailorAdapters
import TailorModels

extension StepRunner {
    /// Trains an encoder that computes the virtual tokens (P-tuning's, prefix tuning's projection):
    /// the gradient of its output (`outputGradients`, kept beside the parameters' and zeroed before
    /// the norm) goes back through the encoder after each step's micro-batches, and the output is
    /// computed again after each optimizer step.
    public func train(encoder: any VirtualTokenEncoder) throws {
        let backend = model.backend
        for output in encoder.outputGradients where gradients[output.name] == nil {
            try gradients.add(output.name, shape: output.shape, backend: backend)
        }
        let names = encoder.outputGradients.map(\.name)
        afterBackward = { gradients in
            try encoder.backward(gradients: gradients, backend: backend)
            for name in names { if let gradient = gradients[name] { try backend.fill(gradient, value: 0) } }
        }
        afterOptimizerStep = { _, _ in try encoder.refresh(backend: backend) }
    }
}

extension VirtualTokenEncoder {
    /// The encoder's tensors as the optimizer trains them, under peft's names; Trainer's
    /// weight-decay group holds the embedding and the weights, not the biases (every name with "bias").
    public var parameters: [TrainableParameter] {
        tensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: !$0.name.contains("bias")) }
    }
}
