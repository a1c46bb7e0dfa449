import TailorTensor

extension SafetensorsWriter.Tensor {
    /// A tensor that a backend makes and gives its bytes only when the writer reaches it: `make` runs
    /// then (returning a stored tensor, or computing one), its bytes are written as they are in `dtype`
    /// (a view of CPU memory, or one tensor's copy from a device), and what `make` returned is
    /// released before the next tensor is made. A model is thus written one tensor at a time, never
    /// held twice in memory.
    /// - Parameters:
    ///   - shape, dtype: the header entry, known before anything is made.
    ///   - make: must return a tensor of `shape` and `dtype`; is called once.
    /// - Throws: `FormatError.invalidWriterInput` when `dtype` has no safetensors spelling or the made
    ///   tensor does not match its entry (when written).
    public init(name: String, shape: [Int], dtype: DType, backend: any Backend,
                make: @escaping @Sendable () throws -> TailorTensor.Tensor) throws {
        guard let stored = SafetensorsDType(dtype) else {
            throw FormatError.invalidWriterInput(path: "tensor \"\(name)\"", detail: "safetensors has no dtype for \(dtype)")
        }
        let byteCount = shape.reduce(1, *) * dtype.byteSize
        self.init(name: name, dtype: stored, shape: shape, byteCount: byteCount) { body in
            let tensor = try make()
            guard tensor.shape == shape, tensor.dtype == dtype else {
                throw FormatError.invalidWriterInput(
                    path: "tensor \"\(name)\"",
                    detail: "it was made as \(tensor.dtype) \(tensor.shape), but its header entry says \(dtype) \(shape)")
            }
            try backend.withBytes(of: tensor) { try body($0) }
        }
    }

    /// A backend tensor already in memory, written in its own dtype when the writer reaches it.
    public init(name: String, tensor: TailorTensor.Tensor, backend: any Backend) throws {
        try self.init(name: name, shape: tensor.shape, dtype: tensor.dtype, backend: backend) { tensor }
    }
}
