import TailorTensor

/// Elementwise ops, reductions, gathers and scatters on the GPU: operand checks (shared with
/// the CPU backend), then a kernel launch.
extension CUDABackend {
    public func fill(_ tensor: Tensor, value: Float) throws {
        let op = "fill"
        switch tensor.dtype {
        case .f32:
            try launchElementwise("tailor_fill_f32", count: tensor.count, [try f32(tensor, op: op, "tensor"), .float(value), .int64(Int64(tensor.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        case .i32:
            try launchElementwise("tailor_fill_i32", count: tensor.count, [try i32(tensor, op: op, "tensor"), .int32(Int32(value)), .int64(Int64(tensor.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        case .bf16, .f16:
            let bits = tensor.dtype == .bf16 ? HalfPrecision.floatToBF16(value) : HalfPrecision.floatToF16(value)
            try launchElementwise("tailor_fill_u16", count: tensor.count,
                                  [.pointer(try address(tensor)), .int32(Int32(bits)), .int64(Int64(tensor.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        default:
            throw TensorError.unsupportedDType(op: op, argument: "tensor", dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .i32])
        }
    }

    public func copy(_ source: Tensor, into destination: Tensor) throws {
        try OperandChecks.requireCount(destination, source.count, op: "copy", "destination")
        guard source.count > 0 else { return }
        if source.dtype == destination.dtype {
            try device.copyOnDevice(address(destination), from: address(source), byteCount: source.byteCount)
            return
        }
        let supported: [DType] = [.f32, .bf16, .f16, .i32]
        let from = try pointer(source, supported, op: "copy", "source"), to = try pointer(destination, supported, op: "copy", "destination")
        try launchElementwise("tailor_cast", count: source.count, [from, .int32(Self.code(source.dtype)), to,
                                                                     .int32(Self.code(destination.dtype)), .int64(Int64(source.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    public func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try OperandChecks.requireCount(b, a.count, op: "add", "b")
        try OperandChecks.requireCount(out, a.count, op: "add", "out")
        try launchElementwise("tailor_add_f32", count: a.count, [try f32(a, op: "add", "a"), try f32(b, op: "add", "b"),
                                                                  try f32(out, op: "add", "out"), .int64(Int64(a.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    public func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try OperandChecks.requireCount(y, x.count, op: "axpy", "y")
        try launchElementwise("tailor_axpy_f32", count: x.count, [.float(alpha), try f32(x, op: "axpy", "x"), try f32(y, op: "axpy", "y"),
                                                                   .int64(Int64(x.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    public func scale(_ x: Tensor, by factor: Float) throws {
        try launchElementwise("tailor_scale_f32", count: x.count, [try f32(x, op: "scale", "x"), .float(factor), .int64(Int64(x.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    public func sumOfSquares(_ x: Tensor) throws -> Double { try sumOfSquares([x]) }

    /// Every tensor's Σx² adds into one device double; one copy back for all of them.
    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double {
        let inputs = try tensors.map { try f32($0, op: "sumOfSquares", "x") }
        let total = try zeros([2], dtype: .f32)  // one f64
        for (tensor, input) in zip(tensors, inputs) {
            try launchElementwise("tailor_sum_of_squares_f32", count: tensor.count, [input, .pointer(try address(total)), .int64(Int64(tensor.count))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
        var value = 0.0
        try withUnsafeMutableBytes(of: &value) { try device.copyToHost($0.baseAddress!, from: address(total), byteCount: 8) }
        try checkErrorWord()
        return value
    }

    public func gatherRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws {
        let op = "gatherRows"
        let (rows, cols) = OperandChecks.matrix(source)
        try OperandChecks.requireShape(out, [indices.count, cols], op: op, "out")
        try gather(op: op, ids: indices, idsName: "indices", table: source, tableTypes: [.f32], rows: rows, cols: cols, out: out,
                   expected: "0..<\(rows)")
    }

    public func scatterAddRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws {
        let op = "scatterAddRows"
        let (rows, cols) = OperandChecks.matrix(out)
        try OperandChecks.requireShape(source, [indices.count, cols], op: op, "source")
        try scatterAdd(op: op, ids: indices, idsName: "indices", source: source, table: out, rows: rows, cols: cols, expected: "0..<\(rows)")
    }

    public func embeddingForward(ids: Tensor, table: Tensor, into out: Tensor) throws {
        let op = "embeddingForward"
        let (vocab, cols) = OperandChecks.matrix(table)
        try OperandChecks.requireShape(out, [ids.count, cols], op: op, "out")
        try gather(op: op, ids: ids, idsName: "ids", table: table, tableTypes: [.f32, .bf16, .f16], rows: vocab, cols: cols, out: out,
                   expected: "a token id in 0..<\(vocab)")
    }

    public func embeddingBackward(ids: Tensor, dOut: Tensor, dTable: Tensor) throws {
        let op = "embeddingBackward"
        let (vocab, cols) = OperandChecks.matrix(dTable)
        try OperandChecks.requireShape(dOut, [ids.count, cols], op: op, "dOut")
        try scatterAdd(op: op, ids: ids, idsName: "ids", source: dOut, table: dTable, rows: vocab, cols: cols, expected: "0..<\(vocab)")
    }

    private func gather(op: String, ids: Tensor, idsName: String, table: Tensor, tableTypes: [DType], rows: Int, cols: Int,
                        out: Tensor, expected: String) throws {
        let arguments: [KernelArgument] = [
            try i32(ids, op: op, idsName), try pointer(table, tableTypes, op: op, "table"), .int32(Self.code(table.dtype)),
            try f32(out, op: op, "out"), .int32(Int32(rows)), .int32(Int32(cols)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            try errorArgument(op: op, Check(argument: idsName, expected: expected, shape: table.shape)), .int32(1),
        ]
        guard ids.count > 0 else { return }
        try device.launch("tailor_gather_rows", grid: LaunchSize(ids.count), block: LaunchSize(Self.rowBlock(cols)), sharedBytes: 0, arguments)
    }

    private func scatterAdd(op: String, ids: Tensor, idsName: String, source: Tensor, table: Tensor, rows: Int, cols: Int,
                            expected: String) throws {
        let arguments: [KernelArgument] = [
            try i32(ids, op: op, idsName), try f32(source, op: op, "source"), try f32(table, op: op, "table"),
            .int32(Int32(rows)), .int32(Int32(cols)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            try errorArgument(op: op, Check(argument: idsName, expected: expected, shape: table.shape)), .int32(1),
        ]
        guard ids.count > 0 else { return }
        try device.launch("tailor_scatter_add_rows_f32", grid: LaunchSize(ids.count), block: LaunchSize(Self.rowBlock(cols)),
                          sharedBytes: 0, arguments)
    }

    public func addBias(_ x: Tensor, bias: Tensor) throws {
        let (_, cols) = OperandChecks.matrix(x)
        try OperandChecks.requireShape(bias, [cols], op: "addBias", "bias")
        try launchElementwise("tailor_add_bias_f32", count: x.count, [
            try f32(x, op: "addBias", "x"), try pointer(bias, [.f32, .bf16, .f16], op: "addBias", "bias"), .int32(Self.code(bias.dtype)),
            .int64(Int64(cols)), .int64(Int64(x.count)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ])
    }

    public func biasBackward(_ dOut: Tensor, dBias: Tensor) throws {
        let (rows, cols) = OperandChecks.matrix(dOut)
        try OperandChecks.requireShape(dBias, [cols], op: "biasBackward", "dBias")
        try launchColumnSums("tailor_column_sum_f32", rows: rows, cols: cols) { rowsPerChunk in
            [try f32(dOut, op: "biasBackward", "dOut"), try f32(dBias, op: "biasBackward", "dBias"),
             .int32(Int32(rows)), .int32(Int32(cols)), .int32(Int32(rowsPerChunk))]  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
    }

    /// Launches a one-thread-per-column kernel with the rows split into chunks over blockIdx.y,
    /// enough chunks to fill the device when there are few columns.
    func launchColumnSums(_ kernel: String, rows: Int, cols: Int, arguments: (Int) throws -> [KernelArgument]) throws {
        guard rows > 0, cols > 0 else { return }
        let columnBlocks = (cols + 255) / 256
        let chunks = max(1, min(rows / 64, max(1, 1024 / columnBlocks), 65535))
        let rowsPerChunk = (rows + chunks - 1) / chunks
        let grid = LaunchSize(columnBlocks, (rows + rowsPerChunk - 1) / rowsPerChunk)
        try device.launch(kernel, grid: grid, block: LaunchSize(256), sharedBytes: 0, try arguments(rowsPerChunk))
    }

    public func swigluForward(gate: Tensor, up: Tensor, into out: Tensor) throws {
        let op = "swigluForward"
        try OperandChecks.requireShape(up, gate.shape, op: op, "up")
        try OperandChecks.requireShape(out, gate.shape, op: op, "out")
        try launchElementwise("tailor_swiglu_forward_f32", count: gate.count, [
            try activation(gate, op: op, "gate"), .int32(Self.code(gate.dtype)), try activation(up, op: op, "up"), .int32(Self.code(up.dtype)),
            try f32(out, op: op, "out"), .int64(Int64(gate.count)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ])
    }

    public func swigluBackward(_ dOut: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor) throws {
        let op = "swigluBackward"
        for (tensor, name) in [(up, "up"), (dOut, "dOut"), (dGate, "dGate"), (dUp, "dUp")] {
            try OperandChecks.requireShape(tensor, gate.shape, op: op, name)
        }
        try launchElementwise("tailor_swiglu_backward_f32", count: gate.count, [
            try f32(dOut, op: op, "dOut"), try activation(gate, op: op, "gate"), .int32(Self.code(gate.dtype)),
            try activation(up, op: op, "up"), .int32(Self.code(up.dtype)),
            try f32(dGate, op: op, "dGate"), try f32(dUp, op: op, "dUp"), .int64(Int64(gate.count)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ])
    }

    /// A saved activation's address: f32, or stored as bf16/f16.
    private func activation(_ tensor: Tensor, op: String, _ argument: String) throws -> KernelArgument {
        try pointer(tensor, [.f32, .bf16, .f16], op: op, argument)
    }

    public func dropout(_ x: Tensor, into out: Tensor, probability: Float, seed: UInt64) throws {
        try OperandChecks.requireCount(out, x.count, op: "dropout", "out")
        guard probability >= 0, probability < 1 else {
            throw TensorError.shapeMismatch(op: "dropout", argument: "probability = \(probability)", expected: "a value in [0, 1)", got: [])
        }
        // The CPU's rule: keep when the hash's top 24 bits, as a fraction, are at least `probability`.
        let threshold = UInt64((Double(probability) * Double(1 << 24)).rounded(.up))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        try launchElementwise("tailor_dropout_f32", count: x.count, [
            try f32(x, op: "dropout", "x"), try f32(out, op: "dropout", "out"), .float(1 / (1 - probability)),
            .uint64(threshold), .uint64(seed), .int64(Int64(x.count)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ])
    }
}
