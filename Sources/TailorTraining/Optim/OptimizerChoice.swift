import TailorModels
import TailorTensor

/// TrainingArguments.optim: the optimizer names of transformers 5.23 that Tailor implements.
/// Both adamw_torch spellings are torch.optim.AdamW (fused only changes the kernel, not the numbers);
/// the bitsandbytes names are `bitsandbytes.optim.AdamW` with optim_bits 8 or 32 (`BnbAdamW`).
public enum OptimizerName: String, Sendable, CaseIterable {
    case adamwTorch = "adamw_torch"
    case adamwTorchFused = "adamw_torch_fused"
    case sgd
    case adamw8bit = "adamw_8bit"
    case adamwBnb8bit = "adamw_bnb_8bit"
    case pagedAdamw8bit = "paged_adamw_8bit"
    case pagedAdamw32bit = "paged_adamw_32bit"

    /// bitsandbytes' optim_bits for its AdamW names; nil for the others.
    public var bitsAndBytesBits: Int? {
        switch self {
        case .adamw8bit, .adamwBnb8bit, .pagedAdamw8bit: return 8
        case .pagedAdamw32bit: return 32
        case .adamwTorch, .adamwTorchFused, .sgd: return nil
        }
    }

    /// Whether bitsandbytes would page this optimizer's states (nothing to page on the CPU).
    public var isPaged: Bool { self == .pagedAdamw8bit || self == .pagedAdamw32bit }

    /// "adamw_torch, adamw_torch_fused, sgd", for messages.
    public static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// SGD's settings from `optim_args`, read as transformers.Trainer reads them for optim sgd.
public struct SGDSettings: Sendable, Equatable {
    public var momentum: Double = 0
    public var dampening: Double = 0
    public var nesterov: Bool = false

    public init(momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    /// The keys Trainer reads for SGD and that change the run (weight_decay comes from the
    /// weight_decay option: Trainer's two parameter groups override it).
    public static let keys = ["momentum", "dampening", "nesterov"]

    /// Parses `optim_args` ("momentum=0.9,nesterov=True"); an unknown key, a value that is not a
    /// number (or a boolean for nesterov) is an error naming it.
    public init(optimArgs: String?) throws {
        self.init()
        for (key, value) in try OptimArgs.parse(optimArgs) {
            switch key {
            case "momentum": momentum = try OptimArgs.number(key, value)
            case "dampening": dampening = try OptimArgs.number(key, value)
            case "nesterov": nesterov = try OptimArgs.bool(key, value)
            case "weight_decay":
                throw TrainingError.invalidValue(key: "optim_args",
                                                 problem: "key 'weight_decay' has no effect with transformers' Trainer (its parameter groups take weight_decay from the weight_decay option); set weight_decay instead")
            default:
                throw TrainingError.invalidValue(key: "optim_args",
                                                 problem: "key '\(key)' is not an SGD setting; optim sgd reads \(Self.keys.joined(separator: ", "))")
            }
        }
    }
}

/// transformers' `optim_args` string: comma-separated key=value pairs, spaces ignored.
public enum OptimArgs {
    /// The pairs in order; a piece without exactly one '=' or with an empty key is an error.
    public static func parse(_ text: String?) throws -> [(key: String, value: String)] {
        guard let text, !text.allSatisfy(\.isWhitespace) else { return [] }
        return try text.filter { $0 != " " }.split(separator: ",", omittingEmptySubsequences: false).map { piece in
            let parts = piece.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TrainingError.invalidValue(key: "optim_args",
                                                 problem: "piece '\(piece)' is not key=value; write comma-separated pairs such as \"momentum=0.9,nesterov=True\"")
            }
            return (String(parts[0]), String(parts[1]))
        }
    }

    static func number(_ key: String, _ value: String) throws -> Double {
        guard let number = Double(value), number.isFinite else {
            throw TrainingError.wrongValueType(key: "optim_args", expected: "a number for key '\(key)'", got: "'\(value)'")
        }
        return number
    }

    /// Trainer's spellings: true, 1, yes (any case) are true; Tailor also names false, 0, no and
    /// refuses anything else rather than reading it as false.
    static func bool(_ key: String, _ value: String) throws -> Bool {
        switch value.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw TrainingError.wrongValueType(key: "optim_args", expected: "True or False for key '\(key)'", got: "'\(value)'")
        }
    }
}

extension TrainingArguments {
    /// The optimizer `optim` names, over `parameters` (weight decay on the decay group only),
    /// with optim_args read as Trainer reads them.
    public func makeOptimizer(parameters: [TrainableParameter], backend: Backend) throws -> Optimizer {
        let parameters = loraPlusLRRatio.map { LoRAPlus(ratio: $0, embeddingLR: loraPlusLREmbedding).grouped(parameters) }
            ?? parameters
        switch optim {
        case .adamwTorch, .adamwTorchFused:
            try checkNoOptimArgs()
            return try AdamW(parameters: parameters, backend: backend, beta1: adamBeta1, beta2: adamBeta2,
                             eps: adamEpsilon, weightDecay: weightDecay)
        case .sgd:
            let settings = try SGDSettings(optimArgs: optimArgs)
            return try SGD(parameters: parameters, backend: backend, momentum: settings.momentum, dampening: settings.dampening,
                           nesterov: settings.nesterov, weightDecay: weightDecay)
        case .adamw8bit, .adamwBnb8bit, .pagedAdamw8bit, .pagedAdamw32bit:
            try checkNoOptimArgs()
            return try BnbAdamW(parameters: parameters, backend: backend, optimBits: optim.bitsAndBytesBits ?? 32,
                                beta1: adamBeta1, beta2: adamBeta2, eps: adamEpsilon, weightDecay: weightDecay)
        }
    }

    /// f32 tensors of optimizer state per trainable parameter, for memory estimates: AdamW's two
    /// moments, SGD's momentum buffer (none without momentum).
    public var optimizerStatesPerParameter: Int {
        switch optim {
        case .adamwTorch, .adamwTorchFused, .adamw8bit, .adamwBnb8bit, .pagedAdamw8bit, .pagedAdamw32bit: return 2
        case .sgd: return ((try? SGDSettings(optimArgs: optimArgs))?.momentum ?? 0) != 0 ? 1 : 0
        }
    }

    /// Bytes of one optimizer state value: 4 (f32), or with 8-bit states one code plus a quarter of an f32
    /// absmax per 256 (tensors under 4096 values keep f32 states; the estimate counts all as 8-bit).
    public var optimizerStateBytes: Double {
        optim.bitsAndBytesBits == 8 ? 1 + 4.0 / Double(BnbAdamWState.blocksize) : 4
    }

    /// transformers reads optim_args only for some optimizers; for AdamW it would be silently
    /// ignored, so Tailor says so.
    func checkNoOptimArgs() throws {
        guard try OptimArgs.parse(optimArgs).isEmpty else {
            throw TrainingError.conflictingKeys(key: "optim_args", other: "optim",
                                                problem: "is read only with optim sgd (transformers ignores it for \(optim.rawValue)); set adam_beta1, adam_beta2, adam_epsilon instead, or remove optim_args")
        }
    }

    /// Checks optim and optim_args before a run starts (the same rules makeOptimizer applies).
    func validateOptimizer() throws {
        switch optim {
        case .adamwTorch, .adamwTorchFused, .adamw8bit, .adamwBnb8bit, .pagedAdamw8bit, .pagedAdamw32bit: try checkNoOptimArgs()
        case .sgd:
            let settings = try SGDSettings(optimArgs: optimArgs)
            try SGD.validate(momentum: settings.momentum, dampening: settings.dampening, nesterov: settings.nesterov,
                             weightDecay: weightDecay)
        }
    }
}
