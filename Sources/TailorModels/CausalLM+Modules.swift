import TailorTensor

extension CausalLM {
    /// Module names of every Linear in the decoder layers ("model.layers.0.self_attn.q_proj", …),
    /// in Hugging Face module order. The output layer (lm_head) is not among them.
    public var linearModuleNames: [String] {
        layers.flatMap { layer in layer.linears.map { String($0.name.dropLast(".weight".count)) } }
    }

    /// The Linear whose module name is `module`, or nil.
    public func linear(module: String) -> Linear? {
        guard let (layer, keyPath) = locate(module) else { return nil }
        return layers[layer][keyPath: keyPath]
    }

    /// Attaches (or, with nil, removes) a side path on the Linear named `module`.
    /// - Throws: `ModelError.missingWeight` when no Linear has that name.
    public func setAdapter(_ adapter: (any LinearAdapter)?, module: String) throws {
        guard let (layer, keyPath) = locate(module) else {
            throw ModelError.missingWeight(name: module, source: "the model's linear layers", expectedShape: [])
        }
        layers[layer][keyPath: keyPath].adapter = adapter
    }

    private func locate(_ module: String) -> (Int, WritableKeyPath<DecoderLayer, Linear>)? {
        let parts = module.split(separator: ".")
        guard parts.count == 5, parts[0] == "model", parts[1] == "layers", let index = Int(parts[2]),
              layers.indices.contains(index) else { return nil }
        let paths: [String: WritableKeyPath<DecoderLayer, Linear>] = [
            "self_attn.q_proj": \.qProj, "self_attn.k_proj": \.kProj, "self_attn.v_proj": \.vProj,
            "self_attn.o_proj": \.oProj, "mlp.gate_proj": \.gateProj, "mlp.up_proj": \.upProj,
            "mlp.down_proj": \.downProj,
        ]
        guard let path = paths["\(parts[3]).\(parts[4])"] else { return nil }
        return (index, path)
    }
}
