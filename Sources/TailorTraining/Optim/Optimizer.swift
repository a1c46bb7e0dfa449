import TailorModels
import TailorTensor

/// What StepRunner and Checkpoint need of an optimizer: a fixed list of f32 parameters, one
/// update per step, and its state as named tensors (saved in a checkpoint's optimizer.safetensors).
public protocol Optimizer: AnyObject, Sendable {
    /// The family written into checkpoints ("adamw", "sgd"); a resume needs the same one.
    var kind: String { get }
    var parameters: [TrainableParameter] { get }
    /// Steps taken so far.
    var stepCount: Int { get }
    /// One update of every parameter from its gradient in `gradients`, at learning rate `lr`.
    func step(gradients: GradientStore, lr: Double) throws
    /// The state to save, by name (e.g. `exp_avg.<parameter>`); empty before the state exists.
    func stateTensors() -> [(name: String, tensor: Tensor)]
    /// Puts back the state a checkpoint saved after `stepCount` steps; `saved(name)` is the
    /// values of a saved tensor, or nil when the checkpoint has none of that name.
    func restore(stepCount: Int, saved: (String) throws -> [Float]?) throws
}

extension Optimizer {
    /// The gradient of `parameter`, or an error naming it.
    func gradient(of parameter: TrainableParameter, in gradients: GradientStore) throws -> Tensor {
        guard let grad = gradients[parameter.name] else {
            throw TrainingError.internalError("the gradient store has no buffer for trainable parameter '\(parameter.name)'")
        }
        return grad
    }

    /// The indices of `parameters` by learning-rate scale, in order of first appearance: torch's parameter
    /// groups (one without LoRA+), each stepped as one multi-tensor step at lr × its scale.
    func learningRateGroups() -> [(scale: Double, indices: [Int])] {
        var groups: [(scale: Double, indices: [Int])] = []
        for (index, parameter) in parameters.enumerated() {
            if let g = groups.firstIndex(where: { $0.scale == parameter.learningRateScale }) {
                groups[g].indices.append(index)
            } else {
                groups.append((parameter.learningRateScale, [index]))
            }
        }
        return groups
    }

    /// Copies `values` into `tensor`, or fails naming the checkpoint tensor that is missing.
    func load(_ name: String, into tensor: Tensor, from saved: (String) throws -> [Float]?, backend: Backend) throws {
        guard let values = try saved(name) else {
            throw TrainingError.checkpoint(path: "optimizer.safetensors",
                                           problem: "has no optimizer state '\(name)'; use a checkpoint written with the same optim and optim_args")
        }
        guard values.count == tensor.count else {
            throw TrainingError.checkpoint(path: "optimizer.safetensors",
                                           problem: "holds optimizer state '\(name)' with \(values.count) values but the parameter has \(tensor.count)")
        }
        try backend.copy(try backend.upload(values, shape: tensor.shape, dtype: .f32), into: tensor)
    }
}
