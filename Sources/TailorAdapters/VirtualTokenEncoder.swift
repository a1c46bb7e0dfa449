import Foundation
import TailorModels
import TailorTensor

/// A small network on the host that computes an adapter's virtual tokens from tensors of its own:
/// P-tuning's prompt encoder (`PTuning`) and prefix tuning's projection (`PrefixProjection`). The
/// model reads what the encoder last computed (`refresh`, after each optimizer step); training lets
/// the model accumulate the loss's gradient of that output in `outputGradients`, then `backward`
/// takes it through the encoder once per step. peft saves only the output, and so does `write`.
public protocol VirtualTokenEncoder: AttachableAdapters {
    /// The encoder's tensors by their names inside peft's `prompt_encoder.default`, in peft's
    /// named_parameters order.
    var tensors: [(name: String, value: Tensor)] { get }
    /// Where the model accumulates the loss's gradient of the encoder's output: names in a
    /// `GradientStore` and shapes.
    var outputGradients: [(name: String, shape: [Int])] { get }
    /// Computes the output from the tensors as they are now.
    func refresh(backend: Backend) throws
    /// Adds into `gradients` (under the tensors' names) the loss's gradient through the encoder,
    /// from the output's gradient in `gradients` (read, not cleared).
    func backward(gradients: GradientStore, backend: Backend) throws
    /// Writes the output as the peft folder peft saves for this method.
    func write(model: CausalLM, to folder: URL, baseModel: String, revision: String?) throws
}

extension VirtualTokenEncoder {
    /// Number of trainable parameters (peft's `get_nb_trainable_parameters()[0]`).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.value.count } }

    /// The name peft's PeftModel gives encoder tensor `name` (what Trainer and a state dict call it).
    public static func peftName(_ name: String) -> String { "prompt_encoder.default." + name }

    /// The tensors torch's defaults start: an embedding normal with std 1, each Linear's weight and
    /// bias uniform in ±1/√fan-in (`fanIn(name)`), drawn from Tailor's generator; or `initial`'s
    /// values by name (e.g. peft's own start).
    /// - Throws: `AdapterError.badOption` for an initial tensor of the wrong size.
    static func startTensors(_ shapes: [(name: String, shape: [Int])], backend: Backend, generator: inout SplitMix64,
                             fanIn: (String) -> Int, initial: ((String, [Int]) throws -> [Float]?)?) throws -> [(name: String, value: Tensor)] {
        try shapes.map { name, shape -> (name: String, value: Tensor) in
            let count = shape.reduce(1, *)
            var values = try initial?(name, shape)
            if let given = values, given.count != count {
                throw AdapterError.badOption(name: name, problem: "has \(given.count) values for shape \(shape)")
            }
            if values == nil {
                if name == "embedding.weight" {
                    values = count.normals(&generator)
                } else {
                    let root = Float(fanIn(name)).squareRoot()
                    values = (0..<count).map { _ in (generator.nextFloat() * 2 - 1) / root }
                }
            }
            return (name, try backend.upload(values ?? [], shape: shape, dtype: .f32))
        }
    }
}
