import TailorTensor

/// Frozen f32 product weights rounded once while a model loads, as torch.autocast rounds an f32
/// weight to bf16 at every product of a `bf16=True` run: with bf16 products
/// (`MatmulPrecision.halfInputs`) they then multiply as bf16 × bf16 with f32 accumulation
/// instead of fp32, and take half the memory.
///
/// Rounded: the decoder layers' linears and the output layer. What autocast leaves in f32 stays
/// f32: the embedding lookup reads the f32 table (a tied output layer gets its own rounded copy,
/// [V, C]), norms and biases keep their dtype, and weights already bf16, f16 or 4-bit are
/// loaded as they are. Only for weights that stay frozen: a run that trains a module
/// (modules_to_save, full fine-tuning) or decomposes it (PiSSA, OLoRA) keeps it as stored.
public struct ProductWeightRounding: Sendable, Equatable {
    public var dtype: DType
    /// Module names (or their last parts, as peft matches modules_to_save: "lm_head",
    /// "embed_tokens", "mlp.down_proj") whose weights stay as stored. Keeping either of
    /// lm_head / embed_tokens keeps a tied output layer.
    public var keep: [String]

    public init(dtype: DType = .bf16, keep: [String] = []) {
        precondition([.bf16, .f16].contains(dtype), "product weights are rounded to bf16 or f16")
        (self.dtype, self.keep) = (dtype, keep)
    }

    /// Whether the weight `name` (a Hugging Face name) is rounded when stored in f32.
    func rounds(_ name: String) -> Bool {
        guard FourBitQuantization.quantizes(name) || name == CausalLM.lmHeadName else { return false }  // the layers' linears, the output layer
        let module = String(name.dropLast(".weight".count))
        let modules = name == CausalLM.lmHeadName ? [module, "model.embed_tokens"] : [module]
        return !ModuleNames.any(modules, isNamedIn: keep)
    }
}
