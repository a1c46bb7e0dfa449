import TailorTensor

/// Attention on the GPU (being written: the kernels land with their tests).
extension CUDABackend {
    public func attentionForward(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, scale: Float,
                                 into out: Tensor, lse: Tensor) throws {
        throw CUDAError.notBuilt("attentionForward")
    }

    public func attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                                  seqStart: Tensor, scale: Float, dq: Tensor, dk: Tensor, dv: Tensor) throws {
        throw CUDAError.notBuilt("attentionBackward")
    }

    public func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                                scale: Float, into out: Tensor) throws {
        throw CUDAError.notBuilt("attentionDecode")
    }
}
