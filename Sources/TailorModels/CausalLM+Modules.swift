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

    /// Runs `body` with every Linear's side path removed (peft's `disable_adapter()`): the base
    /// model, e.g. as the reference of a preference loss, with no second copy of the weights.
    /// The adapters are back when it returns or throws.
    public func withAdaptersDisabled<T>(_ body: () throws -> T) rethrows -> T {
        let saved = layers.map { layer in DecoderLayer.linearPaths.map { layer[keyPath: $0].adapter } }
        for index in layers.indices { for path in DecoderLayer.linearPaths { layers[index][keyPath: path].adapter = nil } }
        defer {
            for index in layers.indices {
                for (slot, path) in DecoderLayer.linearPaths.enumerated() { layers[index][keyPath: path].adapter = saved[index][slot] }
            }
        }
        return try body()
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
