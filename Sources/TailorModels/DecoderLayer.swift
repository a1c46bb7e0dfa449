import TailorTensor

/// One pre-norm decoder block's weights (Llama/Mistral/Qwen2/Qwen3):
///   h   = x + o_proj(attention(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1))),  n1 = rmsnorm(x)
///   out = h + down_proj(silu(gate_proj(n2)) * up_proj(n2)),                      n2 = rmsnorm(h)
/// Qwen3 adds an RMSNorm over each head of q and k before RoPE.
public struct DecoderLayer: Sendable {
    public var index: Int
    /// [C]
    public var inputNorm: Tensor
    public var qProj: Linear   // [Hq·D, C]
    public var kProj: Linear   // [Hkv·D, C]
    public var vProj: Linear   // [Hkv·D, C]
    public var oProj: Linear   // [C, Hq·D]
    /// [D] (Qwen3)
    public var qNorm: Tensor?
    /// [D] (Qwen3)
    public var kNorm: Tensor?
    /// [C]
    public var postAttentionNorm: Tensor
    public var gateProj: Linear  // [I, C]
    public var upProj: Linear    // [I, C]
    public var downProj: Linear  // [C, I]


    var prefix: String { "model.layers.\(index)." }
    var inputNormName: String { prefix + "input_layernorm.weight" }
    var postAttentionNormName: String { prefix + "post_attention_layernorm.weight" }
    var qNormName: String { prefix + "self_attn.q_norm.weight" }
    var kNormName: String { prefix + "self_attn.k_norm.weight" }

    /// The linear layers, in Hugging Face module order.
    public var linears: [Linear] { [qProj, kProj, vProj, oProj, gateProj, upProj, downProj] }
}
