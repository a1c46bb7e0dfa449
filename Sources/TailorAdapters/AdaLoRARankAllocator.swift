import TailorModels
import TailorTensor

/// peft 0.21's AdaLoRA RankAllocator with AdaLoraModel.update_and_allocate around it: after each
/// optimizer step (before the gradients are zeroed) it scores every singular triplet and zeroes
/// the entries of E the shrinking budget has no room for.
///
/// Per trained tensor p with gradient g (the clipped one the step used), element-wise in f32:
///
///     I = |p · g|;  Ī ← β₁·Ī + (1 − β₁)·I;  U ← β₂·U + (1 − β₂)·|I − Ī|;  score = Ī · U
///
/// A triplet k of a module scores E's score[k] + mean of A's row k + mean of B's column k. The
/// budget (total kept ranks) is init_r · n for steps ≤ tinit, then falls as
/// ⌊(init_r·n − target_r·n)·(1 − (t − tinit)/(T − tfinal − tinit))³ + target_r·n⌋ with a
/// masking every deltaT steps; triplets scoring at most the (init − budget)-th smallest score
/// get E = 0. At t = T − tfinal the last allocation fixes `rank_pattern` (the scores start
/// again); after it every step masks with that pattern. T is total_step; t the step number
/// transformers.Trainer passes (`state.global_step` before it counts the step: 0 for the first).
public final class AdaLoRARankAllocator: @unchecked Sendable {
    public let adapters: AdaLoRAAdapters
    public let totalStep: Int
    /// The sum of the modules' ranks at the start (peft's init_bgt).
    public let initialBudget: Int
    /// target_r × the number of modules (peft's target_bgt).
    public let targetBudget: Int
    private var averageImportance: [String: [Float]] = [:]
    private var averageUncertainty: [String: [Float]] = [:]

    /// - Throws: `AdapterError.badOption` for total_step when the adapters' config has none (and
    ///   none is given) or the schedule leaves no budgeting phase.
    public init(adapters: AdaLoRAAdapters, totalStep: Int? = nil) throws {
        guard let total = totalStep ?? adapters.config.totalStep else {
            throw AdapterError.badOption(name: "total_step", problem: "is needed: AdaLoRA's budget schedule needs the run's total optimizer steps; give total_step (or max_steps / num_train_epochs so the run knows them)")
        }
        try adapters.config.checkSchedule(totalStep: total)
        self.adapters = adapters
        self.totalStep = total
        initialBudget = adapters.modules.reduce(0) { $0 + $1.adalora.rank }
        targetBudget = adapters.config.targetR * adapters.modules.count
    }

    /// The budget and whether step `step` masks (peft's `budget_schedule`).
    public func budget(step: Int) -> (budget: Int, masks: Bool) {
        let config = adapters.config
        if step <= config.tinit { return (initialBudget, false) }
        if step > totalStep - config.tfinal { return (targetBudget, true) }
        let coefficient = 1 - Double(step - config.tinit) / Double(totalStep - config.tfinal - config.tinit)
        let value = Double(initialBudget - targetBudget) * coefficient * coefficient * coefficient + Double(targetBudget)
        return (Int(value.rounded(.towardZero)), step % config.deltaT == 0)  // allowed: between targetBudget and initialBudget
    }

    /// peft's `update_and_allocate(global_step)`: call after each optimizer step with the
    /// gradients it used. Returns the rank pattern when this step allocated one.
    @discardableResult
    public func update(step: Int, gradients: GradientStore, backend: Backend) throws -> [String: [Bool]]? {
        let last = totalStep - adapters.config.tfinal
        if step < last {
            try updateImportance(gradients: gradients, backend: backend)
            let (budget, masks) = budget(step: step)
            guard masks else { return nil }
            let pattern = try mask(toBudget: budget, backend: backend)
            adapters.config.rankPattern = pattern
            return pattern
        }
        if step == last {
            let pattern = try mask(toBudget: budget(step: step).budget, backend: backend)
            adapters.config.rankPattern = pattern
            averageImportance = [:]
            averageUncertainty = [:]
            return pattern
        }
        if let pattern = adapters.config.rankPattern { try mask(with: pattern, backend: backend) }
        return nil
    }

    /// The EMAs of every A, E and B (peft's `update_ipt`).
    func updateImportance(gradients: GradientStore, backend: Backend) throws {
        let (b1, b2) = (Float(adapters.config.beta1), Float(adapters.config.beta2))
        let (c1, c2) = (Float(1 - adapters.config.beta1), Float(1 - adapters.config.beta2))
        for module in adapters.modules {
            let m = module.adalora
            for (name, tensor) in [(m.aName, m.a), (m.bName, m.b), (m.eName, m.e)] {
                let values = try backend.download(tensor)
                let grad = try gradients[name].map { try backend.download($0) } ?? [Float](repeating: 0, count: values.count)
                var average = averageImportance[name] ?? [Float](repeating: 0, count: values.count)
                var uncertainty = averageUncertainty[name] ?? [Float](repeating: 0, count: values.count)
                for i in values.indices {
                    let importance = abs(values[i] * grad[i])
                    average[i] = b1 * average[i] + c1 * importance
                    uncertainty[i] = b2 * uncertainty[i] + c2 * abs(importance - average[i])
                }
                averageImportance[name] = average
                averageUncertainty[name] = uncertainty
            }
        }
    }

    /// Element scores Ī·U of tensor `name` (zeros before any update).
    private func scores(_ name: String, count: Int) -> [Float] {
        guard let average = averageImportance[name], let uncertainty = averageUncertainty[name] else {
            return [Float](repeating: 0, count: count)
        }
        return zip(average, uncertainty).map { $0 * $1 }
    }

    /// Zeroes the E entries of the lowest-scoring triplets so `budget` remain (peft's `mask_to_budget`).
    func mask(toBudget budget: Int, backend: Backend) throws -> [String: [Bool]] {
        var triplets: [(module: String, scores: [Float])] = []
        for module in adapters.modules {
            let m = module.adalora
            let r = m.rank
            guard r > 0 else { triplets.append((module.name, [])); continue }
            let columns = m.a.count / r, outs = m.b.count / r
            let a = scores(m.aName, count: m.a.count), b = scores(m.bName, count: m.b.count), e = scores(m.eName, count: r)
            let combined = (0..<r).map { k -> Float in
                let rowMean = Float((0..<columns).reduce(0.0) { $0 + Double(a[k * columns + $1]) } / Double(columns))
                let columnMean = Float((0..<outs).reduce(0.0) { $0 + Double(b[$1 * r + k]) } / Double(outs))
                return e[k] + (rowMean + columnMean)
            }
            triplets.append((module.name, combined))
        }
        let all = triplets.flatMap(\.scores).sorted()
        let k = initialBudget - budget
        guard k >= 1, k <= all.count else {
            return Dictionary(uniqueKeysWithValues: triplets.map { ($0.module, [Bool](repeating: true, count: $0.scores.count)) })
        }
        let threshold = all[k - 1]
        var pattern: [String: [Bool]] = [:]
        for triplet in triplets { pattern[triplet.module] = triplet.scores.map { $0 > threshold } }
        try mask(with: pattern, backend: backend)
        return pattern
    }

    /// Zeroes the E entries `pattern` does not keep (peft's `mask_using_rank_pattern`).
    func mask(with pattern: [String: [Bool]], backend: Backend) throws {
        for module in adapters.modules {
            guard let keep = pattern[module.name], keep.count == module.adalora.rank, keep.contains(false) else { continue }
            var values = try backend.download(module.adalora.e)
            for (k, kept) in keep.enumerated() where !kept { values[k] = 0 }
            try backend.copy(try backend.upload(values, shape: module.adalora.e.shape, dtype: .f32), into: module.adalora.e)
        }
    }
}
