import TailorTensor

/// Scratch matrices the LoRA modules of one adapter set share, grown to the largest micro-batch
/// seen and reused: a LoRA's forward and backward allocate nothing once they have run at that
/// size. The modules of a set run one after another (never at once), so one buffer per use
/// serves them all.
public final class LoRAWorkspace: @unchecked Sendable {
    /// What a buffer holds while one module uses it.
    enum Use: Hashable {
        /// x with dropout applied [N, in].
        case droppedInput
        /// dOut · B [N, r].
        case dDown
        /// scaling · dDown · A before dropout's mask [N, in].
        case throughDropout
        /// DoRA: W + scaling·B·A [out, in].
        case doraWeight
        /// DoRA: D = v ⊙ (W + scaling·B·A) − W [out, in].
        case doraDelta
        /// DoRA: x · (W + scaling·B·A)ᵀ [N, out].
        case doraOutput
        /// DoRA: dOutᵀ · (x·Aᵀ) [out, r].
        case doraRank
    }

    /// One flat f32 buffer per use, as long as the largest matrix asked of it.
    private var buffers: [Use: Tensor] = [:]

    public init() {}

    /// An f32 [rows, columns] matrix at the start of the buffer for `use` (grown when too
    /// small). Its values are whatever the last user left.
    func matrix(_ use: Use, rows: Int, columns: Int, backend: Backend) throws -> Tensor {
        let count = rows * columns
        if let buffer = buffers[use], buffer.count >= count { return buffer.rows(0..<count).reshaped([rows, columns]) }
        let buffer = try backend.empty([count], dtype: .f32)
        buffers[use] = buffer
        return buffer.reshaped([rows, columns])
    }

    /// Bytes held, for reports.
    public var byteCount: Int { buffers.values.reduce(0) { $0 + $1.byteCount } }
}
