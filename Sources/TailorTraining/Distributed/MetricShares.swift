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

    /// Bytes of the loss, then each metric (sorted by name): name length, UTF-8 name, Σ, count.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        func append(_ value: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }  // allowed: shift is 0..<64
        append(loss.bitPattern)
        for (key, value) in metrics.sorted(by: { $0.key < $1.key }) {
            let name = Array(key.utf8)
            append(UInt64(name.count))  // allowed: Int -> UInt64 of a count
            bytes += name
            append(value.sum.bitPattern)
            append(value.count.bitPattern)
        }
        return bytes
    }

    /// What `encoded` wrote; nil for bytes it did not write.
    init?(decoding bytes: [UInt8]) {
        var offset = 0
        func next() -> UInt64? {
            guard offset + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }  // allowed: UInt8 and 0..<64 widen
            offset += 8
            return value
        }
        guard let loss = next() else { return nil }
        self.loss = Double(bitPattern: loss)
        while offset < bytes.count {
            guard let length = next(), length <= UInt64(bytes.count - offset) else { return nil }  // allowed: a non-negative count
            let end = offset + Int(length)  // allowed: length is at most the bytes left, checked above
            let key = String(decoding: bytes[offset..<end], as: UTF8.self)
            offset = end
            guard let sum = next(), let count = next() else { return nil }
            metrics[key] = (Double(bitPattern: sum), Double(bitPattern: count))
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
