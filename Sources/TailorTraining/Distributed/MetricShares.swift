/// A step's (or an evaluation's) loss and metric sums as one rank saw them, and their sum over
/// ranks: each metric is the mean over the micro-batches that report it, on one rank or many.
struct MetricShares: Equatable {
    var loss = 0.0
    /// metric name -> (Σ value, micro-batches that reported it)
    var metrics: [String: (sum: Double, count: Double)] = [:]

    static func == (a: MetricShares, b: MetricShares) -> Bool {
        a.loss == b.loss && a.metrics.keys == b.metrics.keys
            && a.metrics.allSatisfy { key, value in b.metrics[key].map { $0.sum == value.sum && $0.count == value.count } ?? false }
    }

    mutating func add(loss: Double, metrics values: [String: Double]) {
        self.loss += loss
        for (key, value) in values {
            let old = metrics[key] ?? (0, 0)
            metrics[key] = (old.sum + value, old.count + 1)
        }
    }

    var means: [String: Double] { metrics.mapValues { $0.sum / max($0.count, 1) } }

    /// Bytes of the loss, then each metric (sorted by name): its name, Σ and count.
    var encoded: [UInt8] {
        var writer = RankBytesWriter()
        writer.append(loss)
        for (key, value) in metrics.sorted(by: { $0.key < $1.key }) {
            writer.append(key)
            writer.append(value.sum)
            writer.append(value.count)
        }
        return writer.bytes
    }

    /// What `encoded` wrote; nil for bytes it did not write.
    init?(decoding bytes: [UInt8]) {
        var reader = RankBytesReader(bytes)
        guard let loss = reader.double() else { return nil }
        self.loss = loss
        while !reader.atEnd {
            guard let key = reader.string(), let sum = reader.double(), let count = reader.double() else { return nil }
            metrics[key] = (sum, count)
        }
    }

    init() {}

    /// The sum over every rank's shares, added in rank order (so every rank gets the same numbers).
    func summed(over communicator: Communicator, label: String) throws -> MetricShares {
        var total = MetricShares()
        for (rank, bytes) in try communicator.allGather(encoded, label: label).enumerated() {
            guard let share = MetricShares(decoding: bytes) else {
                throw TrainingError.distributed("\(label): rank \(rank) sent \(bytes.count) bytes that are not a step's loss and metrics")
            }
            total.loss += share.loss
            for (key, value) in share.metrics {
                let old = total.metrics[key] ?? (0, 0)
                total.metrics[key] = (old.sum + value.sum, old.count + value.count)
            }
        }
        return total
    }
}
