import TailorTensor

/// The summed cross-entropy of a batch and how many label tokens it covered.
public struct LossResult: Sendable, Equatable {
    /// Σ of the per-token cross-entropy over label tokens.
    public var lossSum: Double
    /// Number of label tokens (targets other than -100).
    public var labelCount: Int
    /// Mean cross-entropy per label token (0 when there are none).
    public var loss: Double { labelCount > 0 ? lossSum / Double(labelCount) : 0 }

    public init(lossSum: Double, labelCount: Int) {
        self.lossSum = lossSum
        self.labelCount = labelCount
    }
}

/// Buffers of the chunked cross-entropy: never more than `rows` rows of logits at once.
final class LossScratch {
    let rows: Int
    let logits: Tensor   // [rows, V]
    let hidden: Tensor   // [rows, C]
    let dHidden: Tensor  // [rows, C]
    /// A column of ones: logits · ones / V is each row's mean logit over the vocabulary.
    let ones: Tensor     // [V, 1]

    init(rows: Int, config: ModelConfig, backend: Backend) throws {
        self.rows = rows
        logits = try backend.empty([rows, config.vocabSize], dtype: .f32)
        hidden = try backend.empty([rows, config.hiddenSize], dtype: .f32)
        dHidden = try backend.empty([rows, config.hiddenSize], dtype: .f32)
        ones = try backend.empty([config.vocabSize, 1], dtype: .f32)
        try backend.fill(ones, value: 1)
    }
}

extension CausalLM {
    /// Forward, loss and backward for one batch.
    ///
    /// The loss is transformers' causal-LM cross-entropy: position t predicts label t + 1 of the
    /// same sequence, -100 is ignored. Gradients of (Σ CE) / `lossNormalizer` are *accumulated*
    /// into `gradients` for the parameters it holds; the normalizer defaults to this batch's
    /// label count (the mean), and gradient accumulation passes the whole step's label count.
    /// Logits are computed only at label positions, `lossChunkRows` rows at a time.
    @discardableResult
    public func forwardBackward(_ batch: TokenBatch, gradients: GradientStore, lossNormalizer: Int? = nil) throws -> LossResult {
        let (targets, labeled, device, ws, _) = try forwardToFinalNorm(batch)
        guard !labeled.isEmpty else { return LossResult(lossSum: 0, labelCount: 0) }
        let normalizer = Float(lossNormalizer ?? labeled.count)
        // dNormed [N, C] collects the loss gradient at the labeled rows.
        try backend.fill(ws.dNormed, value: 0)
        let lossSum = try chunkedCrossEntropy(hidden: ws.normed, labeled: labeled, targets: targets,
                                              scales: .uniform(1 / normalizer), dHidden: ws.dNormed, gradients: gradients)
            .reduce(0.0) { $0 + Double($1) }
        try backwardFromFinalNorm(device, ws, gradients: gradients)
        return LossResult(lossSum: lossSum, labelCount: labeled.count)
    }

    /// The backward below the loss: `ws.dNormed` [N, C] holds ∂L/∂(final norm output); accumulates
    /// the gradients of the final norm, every layer and the embedding.
    func backwardFromFinalNorm(_ device: DeviceBatch, _ ws: Workspace, gradients: GradientStore) throws {
        try backend.rmsNormBackward(ws.dNormed, x: ws.finalX, weight: finalNorm, rstd: ws.finalRstd,
                                    dx: ws.dX, accumulate: false, dWeight: gradients[Self.finalNormName])
        for index in layers.indices.reversed() {
            try layerBackward(layers[index], ws.layers[index], device, ws, gradients: gradients)
        }
        if let dEmbed = gradients[Self.embedName] {
            try backend.embeddingBackward(ids: device.ids, dOut: ws.dX, dTable: dEmbed)
        }
        try virtualTokensBackward(device.virtual, dX: ws.dX, gradients: gradients)
    }

    /// What every loss starts with: the batch's shifted targets, the positions that have one, its
    /// device copy, and the workspace after the forward through every layer (`ws.normed`: the
    /// final norm's output). Discards a pending `labelLogProbs`.
    /// With virtual tokens the rows are those of `withVirtualTokens(batch)`, which `expanded` is.
    func forwardToFinalNorm(_ batch: TokenBatch) throws -> (targets: [Int32], labeled: [Int], device: DeviceBatch, ws: Workspace,
                                                            expanded: TokenBatch) {
        let expanded = try withVirtualTokens(batch)
        let targets = expanded.shiftedTargets                             // [N]
        let labeled = targets.indices.filter { targets[$0] != -100 }      // [L]
        let device = try upload(expanded)
        let ws = try workspace(tokens: expanded.tokenCount)
        pendingLogProbs = nil
        try forwardLayers(device, ws)
        return (targets, labeled, device, ws, expanded)
    }

    /// The loss of a batch without gradients (evaluation).
    public func loss(_ batch: TokenBatch) throws -> LossResult {
        let (targets, labeled, _, ws, _) = try forwardToFinalNorm(batch)
        let lossSum = try chunkedCrossEntropy(hidden: ws.normed, labeled: labeled, targets: targets,
                                              scales: .uniform(0), dHidden: nil, gradients: GradientStore())
            .reduce(0.0) { $0 + Double($1) }
        return LossResult(lossSum: lossSum, labelCount: labeled.count)
    }

    /// How the cross-entropy's gradient is scaled: one factor for every row, or one per labeled row.
    enum RowScales {
        case uniform(Float)
        case perRow([Float])

        func at(_ row: Int) -> Float {
            switch self {
            case .uniform(let scale): return scale
            case .perRow(let scales): return scales[row]
            }
        }
    }

    /// CE (−log p) of each labeled row of `hidden` [N, C], chunk by chunk; when `dHidden` [N, C]
    /// is given, adds Σ_r scale_r · ∂CE_r/∂hidden into it and accumulates the lm_head gradient.
    /// Each chunk's lm_head product, softmax-gradient and lm_head backward run back to back on
    /// `lossChunkRows` rows, so no [N, V] logits exist; the row losses come back once, at the end.
    /// Rows of one scale run as one cross-entropy call (a sequence's rows are contiguous).
    /// When `meanLogits` [L, 1] is given, each labeled row's mean logit over the vocabulary goes
    /// there (TRL's `logits/*` metrics), taken before the cross-entropy turns logits into gradients.
    func chunkedCrossEntropy(hidden: Tensor, labeled: [Int], targets: [Int32], scales: RowScales,
                             dHidden: Tensor?, gradients: GradientStore, meanLogits: Tensor? = nil) throws -> [Float] {
        guard !labeled.isEmpty else { return [] }
        let scratch = try lossScratch()
        let count = labeled.count
        let rowIndices = try backend.upload(labeled.map { Int32($0) }, shape: [count])   // [L]  // allowed: row indices of a batch held in memory, below its token count
        let rowTargets = try backend.upload(labeled.map { targets[$0] }, shape: [count])  // [L]
        let losses = try backend.empty([count], dtype: .f32)                              // [L]
        var begin = 0
        while begin < count {
            let end = min(count, begin + scratch.rows), n = end - begin
            let indices = rowIndices.rows(begin..<end)                                     // [n]
            let h = scratch.hidden.rows(0..<n), logits = scratch.logits.rows(0..<n)        // [n, C], [n, V]
            try backend.gatherRows(hidden, indices: indices, into: h)
            try lmHead.forward(h, into: logits, backend: backend)
            if let meanLogits {
                try backend.gemm(logits, transposeA: false, scratch.ones, transposeB: false, into: meanLogits.rows(begin..<end),  // [n, 1]
                                 alpha: 1 / Float(config.vocabSize), beta: 0)
            }
            var run = begin
            while run < end {
                var runEnd = run + 1
                if case .perRow(let values) = scales {
                    while runEnd < end, values[runEnd] == values[run] { runEnd += 1 }
                } else {
                    runEnd = end
                }
                try backend.crossEntropy(logits: logits.rows((run - begin)..<(runEnd - begin)),
                                         targets: rowTargets.rows(run..<runEnd), losses: losses.rows(run..<runEnd),
                                         gradScale: dHidden == nil ? 0 : scales.at(run))
                run = runEnd
            }
            if let dHidden {
                let dh = scratch.dHidden.rows(0..<n)                                       // [n, C]
                try lmHead.backward(logits, input: h, dx: dh, accumulate: false, gradients: gradients, backend: backend)
                try backend.scatterAddRows(dh, indices: indices, into: dHidden)
            }
            begin = end
        }
        return try backend.download(losses)
    }

    func lossScratch() throws -> LossScratch {
        if let scratch = lossScratchStorage, scratch.rows == lossChunkRows { return scratch }
        let scratch = try LossScratch(rows: lossChunkRows, config: config, backend: backend)
        lossScratchStorage = scratch
        return scratch
    }
}
