import TailorModels
import TailorTensor

extension MemoryPlan {
    /// The plan as text lines: the model and budget, a table of every method's parts, the memory
    /// generation needs, the recommendation and the notes.
    public var lines: [String] {
        let r = request, c = r.model.config, gb = { (bytes: Int) in NumberText.fixed(Double(bytes) / 1e9, 2) }
        var out: [String] = []
        out.append("model: \(r.model.label): \(c.architecture.rawValue), \(NumberText.fixed(Double(c.parameterCount) / 1e6, 1)) M parameters,"
                   + " weights stored \(r.model.weightDType)")
        out.append("budget: \(r.budget.summary); a recommended run fills at most \(Self.headroomPercent)% of it")
        let shown = r.batch ?? 1, sequences = shown * (r.stage == .dpo ? 2 : 1)
        out.append("memory by part, GB (stage \(r.stage.rawValue), \(sequences) sequence\(sequences == 1 ? "" : "s") of \(r.seq) tokens per micro-batch,"
                   + " \(r.optimizerStates)\(r.optimizerStateBytes < 4 ? " 8-bit" : "") optimizer state\(r.optimizerStates == 1 ? "" : "s") per trained value, device \(r.device.rawValue)):")
        let header = ["method", "checkpointing", "weights", "gradients", "optimizer", "adapters", "activations", "loss chunk", "runtime", "total", "fits"]
        var table = [header]
        for row in rows {
            let e = row.estimate
            table.append([row.method.rawValue, row.checkpointing ? "on" : "off", gb(e.weights), gb(e.gradients), gb(e.optimizer),
                          gb(e.adapterValues), gb(e.activations), gb(e.loss), gb(e.runtime), gb(e.total), row.fits ? "yes" : "no"])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        out += table.map { cells in
            "  " + cells.enumerated().map { $0.element + String(repeating: " ", count: widths[$0.offset] - $0.element.count) }
                .joined(separator: "  ").trimmingTrailingSpaces
        }
        out.append("  weights: full fine-tuning trains f32 copies of every parameter; lora keeps the base as stored;"
                   + " qlora stores the decoder linears in 4-bit nf4 blocks with double quantization (quantization_bit: 4)")
        out.append("  loss chunk: the chunked cross-entropy computes \(min(sequences * r.seq, c.defaultLossChunkRows)) rows of logits at a time,"
                   + " never the [\(sequences * r.seq), \(c.vocabSize)] logits")
        let kv = c.kvCacheBytes(slots: 1, capacity: r.seq)
        out.append("generation (tailor chat, serve): weights \(gb(c.weightBytes(dtype: r.model.weightDType))) GB + KV cache \(gb(kv)) GB"
                   + " per sequence of \(r.seq) tokens (f32 keys and values, \(c.layerCount) layers × \(c.kvHeadCount) KV heads × \(c.headDim))")
        if let best = recommendation {
            out.append("recommended: \(best.method.rawValue), per_device_train_batch_size \(best.batch), gradient_accumulation_steps \(best.accumulation)"
                       + " (global batch \(best.batch * best.accumulation)), gradient_checkpointing \(best.checkpointing), max_seq_length \(best.seq),"
                       + " bf16 \(r.device == .cuda)")
            out.append("estimated peak memory: \(best.estimate.summary)")
        } else {
            out.append("recommended: nothing fits in \(r.budget.summary)")
        }
        out += notes.map { "note: " + $0 }
        return out
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
