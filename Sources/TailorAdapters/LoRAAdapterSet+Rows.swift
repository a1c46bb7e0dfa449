import TailorModels

/// `count` consecutive rows of a forward that use adapter `adapter` (nil: the base model).
public struct AdapterRowRun: Sendable, Equatable {
    public var adapter: String?
    public var count: Int
    public init(adapter: String?, count: Int) {
        self.adapter = adapter
        self.count = count
    }
}

extension LoRAAdapterSet {
    /// Runs `body` (one forward) with a different adapter per run of rows, as Punica / S-LoRA
    /// batch requests for different adapters: every adapted Linear adds, to each run's rows, the
    /// product of that run's adapter (nothing for a base run). The base product is shared by all rows.
    ///
    /// Every forward inside `body` must have exactly the runs' total row count in each Linear, or
    /// `narrowed`'s (a decode step's last layer, which goes on with only the rows whose logits are
    /// wanted: `narrowed` gives their adapters in the same way); a Linear seeing another count uses
    /// the active adapter.
    /// - Throws: `AdapterError.unknownAdapter` for a name never added; `.badOption` when runs mix
    ///   adapters and one of them replaces full tensors (`bias`, `modules_to_save`), which cannot
    ///   differ per row; merge such an adapter (`tailor merge`) to serve it.
    public func withRowAdapters<T>(_ runs: [AdapterRowRun], narrowed: [AdapterRowRun]? = nil, _ body: () throws -> T) throws -> T {
        let names = Set(runs.map(\.adapter))
        for case let name? in names where adapters(named: name) == nil { throw AdapterError.unknownAdapter(name, loaded: self.names) }
        if names.count == 1, let only = names.first {
            // One adapter for every row: the plain path (which also installs its full tensors).
            if activeAdapter != only { try setAdapter(only) }
            return try body()
        }
        for case let name? in names where !(adapters(named: name)?.tensors.isEmpty ?? true) {
            throw AdapterError.badOption(name: "adapter '\(name)'", problem:
                "trains full tensors (bias or modules_to_save), which cannot differ between the rows of one batch; merge it into the base with `tailor merge` to serve it, or serve it alone")
        }
        for case let name? in names where !(adapters(named: name)?.residuals.isEmpty ?? true) {
            throw AdapterError.badOption(name: "adapter '\(name)'", problem:
                "is a PiSSA/OLoRA adapter (init_lora_weights \(adapters(named: name)?.config.initLoraWeights.name ?? "")), which runs on an adjusted base that cannot differ between the rows of one batch; serve its converted plain-LoRA form (the pissa_converted folder pissa_convert writes) to batch it with others, merge it with `tailor merge`, or serve it alone")
        }
        if activeAdapter != nil { try setAdapter(nil) }
        selection.rows = runs
        selection.narrowedRows = narrowed
        defer { selection.rows = nil; selection.narrowedRows = nil }
        return try body()
    }

    /// Whether adapter `name` can share a batch with other adapters (it replaces no full tensors).
    public func canBatchPerRow(_ name: String) -> Bool {
        guard let adapters = adapters(named: name) else { return false }
        return adapters.tensors.isEmpty && adapters.residuals.isEmpty
    }
}
