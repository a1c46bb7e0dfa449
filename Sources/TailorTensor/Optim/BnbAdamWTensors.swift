/// The moments of one parameter under bitsandbytes' AdamW: 32-bit (`exp_avg`, `exp_avg_sq` in f32, bnb's
/// `state1` / `state2` of a float optimizer or of a tensor below `min_8bit_size`), or 8-bit blockwise
/// (`state1` / `state2` u8 codes into the signed / unsigned dynamic maps, one f32 absmax per 256 codes).
public enum BnbAdamWState: Sendable {
    /// m, v: f32, the parameter's shape.
    case full(m: Tensor, v: Tensor)
    /// m, v: u8 codes, the parameter's shape; mAbsmax, vAbsmax: f32 [ceil(count / 256)].
    case blockwise(m: Tensor, mAbsmax: Tensor, v: Tensor, vAbsmax: Tensor)

    /// bitsandbytes' blocksize for 8-bit optimizer states.
    public static let blocksize = 256
}

/// One parameter's tensors in a `bnbAdamW` step: f32 param and grad of one shape, its state, and whether
/// weight decay applies to it.
public struct BnbAdamWTensors: Sendable {
    public var param: Tensor
    public var grad: Tensor
    public var state: BnbAdamWState
    public var decays: Bool

    public init(param: Tensor, grad: Tensor, state: BnbAdamWState, decays: Bool) {
        (self.param, self.grad, self.state, self.decays) = (param, grad, state, decays)
    }
}

/// bitsandbytes' dynamic maps for optimizer states, as its CPU optimizer uses them.
public enum BnbOptimizerMaps {
    /// `create_dynamic_map(signed=True)`: the first moment's codes.
    public static let signed = DynamicMap.signed
    /// `create_dynamic_map(signed=False)`: 0, 254 positive values, 1 (the second moment's codes).
    public static let unsigned: [Float] = DynamicMap.unsignedBits.map(Float.init(bitPattern:))
}
