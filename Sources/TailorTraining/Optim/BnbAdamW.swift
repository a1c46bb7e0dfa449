import TailorModels
import TailorTensor

/// bitsandbytes' AdamW as transformers.Trainer builds it for optim `adamw_8bit` / `adamw_bnb_8bit` /
/// `paged_adamw_8bit` (optim_bits 8) and `paged_adamw_32bit` (optim_bits 32): a parameter of at least
/// `minimum8BitSize` elements keeps its moments as 8-bit blockwise codes (8-bit only), every other one in
/// f32 with bnb's own 32-bit update; so does an embedding's weight, which Trainer registers with
/// bitsandbytes' GlobalOptimManager as optim_bits 32 (`keeps32BitStates`). Paging moves states between GPU and host memory; on the CPU there
/// is nothing to page (bitsandbytes falls back to plain states too).
public final class BnbAdamW: Optimizer, @unchecked Sendable {
    public var kind: String { optimBits == 8 ? "bnb_adamw_8bit" : "bnb_adamw_32bit" }
    public let parameters: [TrainableParameter]
    public let optimBits: Int
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    public private(set) var stepCount = 0
    /// bitsandbytes' `min_8bit_size`.
    public static let minimum8BitSize = 4096
    let backend: Backend
    let states: [BnbAdamWState]

    public init(parameters: [TrainableParameter], backend: Backend, optimBits: Int, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0) throws {
        guard optimBits == 8 || optimBits == 32 else {
            throw TrainingError.internalError("bitsandbytes' AdamW takes optim_bits 8 or 32, not \(optimBits)")
        }
        self.parameters = parameters
        self.backend = backend
        self.optimBits = optimBits
        (self.beta1, self.beta2, self.eps, self.weightDecay) = (beta1, beta2, eps, weightDecay)
        states = try parameters.map { parameter in
            let shape = parameter.value.shape
            guard optimBits == 8, parameter.value.count >= Self.minimum8BitSize, !Self.keeps32BitStates(parameter.name) else {
                return .full(m: try backend.zeros(shape, dtype: .f32), v: try backend.zeros(shape, dtype: .f32))
            }
            let blocks = (parameter.value.count + BnbAdamWState.blocksize - 1) / BnbAdamWState.blocksize
            return .blockwise(m: try backend.zeros(shape, dtype: .u8), mAbsmax: try backend.zeros([blocks], dtype: .f32),
                              v: try backend.zeros(shape, dtype: .u8), vAbsmax: try backend.zeros([blocks], dtype: .f32))
        }
    }

    /// Trainer's override for every nn.Embedding: the embedding weight (trained in full fine-tuning, its
    /// modules_to_save copy, a tied lm_head), not LoRA's own tensors beside it.
    public static func keeps32BitStates(_ name: String) -> Bool {
        name.contains("embed_tokens") && !name.contains("lora_")
    }

    /// Whether parameter `index` keeps 8-bit states.
    public func isBlockwise(_ index: Int) -> Bool {
        if case .blockwise = states[index] { return true }
        return false
    }

    /// The state of parameter `index`.
    public func state(_ index: Int) -> BnbAdamWState { states[index] }

    /// bitsandbytes' names: `state1.<p>` / `state2.<p>` (f32 moments, or u8 codes) and `absmax1.<p>` / `absmax2.<p>`.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        parameters.indices.flatMap { index -> [(name: String, tensor: Tensor)] in
            let name = parameters[index].name
            switch states[index] {
            case let .full(m, v): return [("state1." + name, m), ("state2." + name, v)]
            case let .blockwise(m, mAbsmax, v, vAbsmax):
                return [("state1." + name, m), ("absmax1." + name, mAbsmax), ("state2." + name, v), ("absmax2." + name, vAbsmax)]
            }
        }
    }

    public func restore(stepCount: Int, saved: (String) throws -> [Float]?) throws {
        for (index, parameter) in parameters.enumerated() {
            switch states[index] {
            case let .full(m, v):
                try load("state1." + parameter.name, into: m, from: saved, backend: backend)
                try load("state2." + parameter.name, into: v, from: saved, backend: backend)
            case let .blockwise(m, mAbsmax, v, vAbsmax):
                try loadCodes("state1." + parameter.name, into: m, from: saved)
                try load("absmax1." + parameter.name, into: mAbsmax, from: saved, backend: backend)
                try loadCodes("state2." + parameter.name, into: v, from: saved)
                try load("absmax2." + parameter.name, into: vAbsmax, from: saved, backend: backend)
            }
        }
        self.stepCount = stepCount
    }

    /// 8-bit codes saved as their values 0...255.
    func loadCodes(_ name: String, into tensor: Tensor, from saved: (String) throws -> [Float]?) throws {
        guard let values = try saved(name) else {
            throw TrainingError.checkpoint(path: "optimizer.safetensors",
                                           problem: "has no optimizer state '\(name)'; use a checkpoint written with the same optim")
        }
        guard values.count == tensor.count, values.allSatisfy({ $0 >= 0 && $0 <= 255 && $0.rounded() == $0 }) else {
            throw TrainingError.checkpoint(path: "optimizer.safetensors",
                                           problem: "holds optimizer state '\(name)' that is not \(tensor.count) 8-bit codes (0...255)")
        }
        let codes = values.map { UInt8($0) }  // allowed: checked above to be whole numbers in 0...255
        let uploaded = try codes.withUnsafeBytes { try backend.upload(bytes: $0, shape: tensor.shape, dtype: .u8, owner: nil) }
        try backend.copy(uploaded, into: tensor)
    }

    public func step(gradients: GradientStore, lr: Double) throws {
        let tensors = try parameters.indices.map { index in
            BnbAdamWTensors(param: parameters[index].value, grad: try gradient(of: parameters[index], in: gradients),
                            state: states[index], decays: parameters[index].weightDecay)
        }
        stepCount += 1
        for (scale, indices) in learningRateGroups() {
            let group = indices.map { tensors[$0] }
            try backend.bnbAdamW(group, hyper: AdamWHyper(lr: lr * scale, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay),
                                 step: stepCount)
        }
    }
}
