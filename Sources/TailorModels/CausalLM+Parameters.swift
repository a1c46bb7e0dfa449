import TailorTensor

extension CausalLM {
    /// Every parameter tensor by Hugging Face name, in module order (tied lm_head omitted).
    public var namedParameters: [(name: String, tensor: Tensor)] {
        var result: [(String, Tensor)] = [(Self.embedName, embedTokens)]
        for layer in layers {
            result.append((layer.inputNormName, layer.inputNorm))
            for linear in [layer.qProj, layer.kProj, layer.vProj, layer.oProj] {
                result.append((linear.name, linear.weight))
                if let bias = linear.bias { result.append((linear.biasName, bias)) }
            }
            if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
                result.append((layer.qNormName, qNorm))
                result.append((layer.kNormName, kNorm))
            }
            result.append((layer.postAttentionNormName, layer.postAttentionNorm))
            for linear in [layer.gateProj, layer.upProj, layer.downProj] {
                result.append((linear.name, linear.weight))
                if let bias = linear.bias { result.append((linear.biasName, bias)) }
            }
        }
        result.append((Self.finalNormName, finalNorm))
        if lmHead.name == Self.lmHeadName { result.append((Self.lmHeadName, lmHead.weight)) }
        return result
    }

    /// Replaces the parameter `name` with `tensor` (same shape). Replacing tied embeddings
    /// replaces the output layer's weight too.
    public func replaceParameter(_ name: String, with tensor: Tensor) throws {
        guard let current = namedParameters.first(where: { $0.name == name })?.tensor else {
            throw ModelError.missingWeight(name: name, source: "the model", expectedShape: tensor.shape)
        }
        guard current.shape == tensor.shape else {
            throw ModelError.weightShapeMismatch(name: name, source: "replacement", expected: current.shape, got: tensor.shape)
        }
        if name == Self.embedName {
            embedTokens = tensor
            if lmHead.name == Self.embedName { lmHead.weight = tensor }
            return
        }
        if name == Self.lmHeadName { lmHead.weight = tensor; return }
        if name == Self.finalNormName { finalNorm = tensor; return }
        for index in layers.indices {
            var layer = layers[index]
            if name == layer.inputNormName { layer.inputNorm = tensor }
            else if name == layer.postAttentionNormName { layer.postAttentionNorm = tensor }
            else if name == layer.qNormName { layer.qNorm = tensor }
            else if name == layer.kNormName { layer.kNorm = tensor }
            else {
                let paths: [WritableKeyPath<DecoderLayer, Linear>] = [\.qProj, \.kProj, \.vProj, \.oProj, \.gateProj, \.upProj, \.downProj]
                for path in paths {
                    if layer[keyPath: path].name == name { layer[keyPath: path].weight = tensor }
                    else if layer[keyPath: path].biasName == name { layer[keyPath: path].bias = tensor }
                }
            }
            layers[index] = layer
        }
    }
}
