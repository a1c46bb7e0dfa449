/// Hugging Face weight names <-> llama.cpp tensor names (`token_embd`, `blk.N.attn_q`, ...).
public enum GGUFTensorNames {
    public static let embedding = "token_embd.weight"
    public static let output = "output.weight"
    public static let outputNorm = "output_norm.weight"

    /// The llama.cpp name of a Hugging Face weight of a decoder model, or nil for a name it has no tensor for.
    ///
    ///     model.embed_tokens.weight                    token_embd.weight
    ///     model.norm.weight / lm_head.weight           output_norm.weight / output.weight
    ///     model.layers.N.input_layernorm.weight        blk.N.attn_norm.weight
    ///     ...self_attn.{q,k,v,o}_proj.{weight,bias}    blk.N.attn_{q,k,v,output}.{weight,bias}
    ///     ...self_attn.{q,k}_norm.weight               blk.N.attn_{q,k}_norm.weight
    ///     ...post_attention_layernorm.weight           blk.N.ffn_norm.weight
    ///     ...mlp.{gate,up,down}_proj.{weight,bias}     blk.N.ffn_{gate,up,down}.{weight,bias}
    public static func ggufName(forHF name: String) -> String? {
        switch name {
        case CausalLM.embedName: return embedding
        case CausalLM.finalNormName: return outputNorm
        case CausalLM.lmHeadName: return output
        default: break
        }
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        let module = String(rest[rest.index(after: dot)...])
        for (hf, gguf) in layerModules {
            for suffix in [".weight", ".bias"] where module == hf + suffix {
                return "blk.\(layer).\(gguf)\(suffix)"
            }
        }
        return nil
    }

    static let layerModules: [(hf: String, gguf: String)] = [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.q_norm", "attn_q_norm"),
        ("self_attn.k_norm", "attn_k_norm"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ]
}
