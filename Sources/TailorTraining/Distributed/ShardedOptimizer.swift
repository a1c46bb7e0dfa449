import TailorModels
import TailorTensor

/// ZeRO stages 1 and 2 (`ShardingSettings`): the trainable parameters are dealt to the ranks as
/// contiguous runs of whole tensors of about equal size; each rank's `inner` optimizer holds the
/// state (AdamW's moments) of its own run only and updates only those parameters, which their
/// owner then broadcasts. With stage 2 `StepRunner` reduces each gradient to its owner alone and
/// sums the clipping norm from the shards. A checkpoint still holds the whole state: `gatherState`
/// (every rank calls it) collects it on rank 0 before rank 0 writes, and each rank's `restore`
/// takes its own parameters' part, so a run resumes with any number of ranks, sharded or not.
final class ShardedOptimizer: Optimizer, @unchecked Sendable {
    let inner: Optimizer
    let parameters: [TrainableParameter]
    /// The rank that owns each parameter (non-decreasing: each rank a contiguous run).
    let owners: [Int]
    let stage: Int
    let communicator: Communicator
    let backend: Backend
    private var gathered: [(name: String, tensor: Tensor)]?

    /// Owners of parameters of `counts` elements: rank r takes the parameters whose first element
    /// falls in the r-th of `worldSize` equal parts of all the elements.
    static func owners(counts: [Int], worldSize: Int) -> [Int] {
        let total = max(1, counts.reduce(0, +))
        var start = 0
        return counts.map { count in
            defer { start += count }
            return min(worldSize - 1, start * worldSize / total)
        }
    }

    /// - Parameter make: the optimizer of a set of parameters (the recipe's optim over this rank's run).
    init(parameters: [TrainableParameter], stage: Int, communicator: Communicator, backend: Backend,
         make: ([TrainableParameter]) throws -> Optimizer) throws {
        self.parameters = parameters
        self.stage = stage
        self.communicator = communicator
        self.backend = backend
        owners = Self.owners(counts: parameters.map(\.value.count), worldSize: communicator.worldSize)
        inner = try make(zip(parameters, owners).filter { $0.1 == communicator.rank }.map(\.0))
    }

    var kind: String { inner.kind }
    var stepCount: Int { inner.stepCount }

    /// Indices of rank `rank`'s parameters.
    func run(of rank: Int) -> [Int] { owners.indices.filter { owners[$0] == rank } }

    /// This rank's update of its own parameters, then every parameter from its owner.
    func step(gradients: GradientStore, lr: Double) throws {
        try inner.step(gradients: gradients, lr: lr)
        for rank in 0..<communicator.worldSize {
            let members = run(of: rank).map { parameters[$0] }
            guard !members.isEmpty else { continue }
            var values: [Float] = []
            if rank == communicator.rank {
                for member in members { values += try backend.download(member.value) }
            } else {
                values = [Float](repeating: 0, count: members.reduce(0) { $0 + $1.value.count })
            }
            try communicator.broadcast(&values, root: rank, label: "step \(stepCount)'s broadcast of rank \(rank)'s updated parameters")
            guard rank != communicator.rank else { continue }
            var offset = 0
            for member in members {
                let next = offset + member.value.count
                try backend.copy(try backend.upload(Array(values[offset..<next]), shape: member.value.shape, dtype: .f32), into: member.value)
                offset = next
            }
        }
    }

    /// Collects every rank's optimizer state on rank 0 (a collective: every rank calls it); rank 0's
    /// `stateTensors` then returns it all until `dropGathered`.
    func gatherState() throws {
        let mine = inner.stateTensors()
        var header: [UInt8] = []
        for (name, tensor) in mine {
            let bytes = Array(name.utf8)
            header += Self.bytes(UInt64(bytes.count)) + bytes + Self.bytes(UInt64(tensor.shape.count))  // allowed: counts
            for dimension in tensor.shape { header += Self.bytes(UInt64(dimension)) }  // allowed: a non-negative dimension
        }
        let headers = try communicator.allGather(header, label: "the optimizer state's names for a checkpoint")
        var result: [(name: String, tensor: Tensor)] = []
        for (rank, bytes) in headers.enumerated() {
            guard let entries = Self.entries(bytes) else {
                throw TrainingError.distributed("rank \(rank) sent an optimizer-state list that cannot be read")
            }
            for (index, entry) in entries.enumerated() {
                let count = entry.shape.reduce(1, *)
                var values = rank == communicator.rank ? try backend.download(mine[index].tensor) : [Float](repeating: 0, count: count)
                try communicator.broadcast(&values, root: rank, label: "the optimizer state \(entry.name) for a checkpoint")
                if communicator.isMain { result.append((entry.name, try backend.upload(values, shape: entry.shape, dtype: .f32))) }
            }
        }
        gathered = communicator.isMain ? result : nil
    }

    func dropGathered() { gathered = nil }

    func stateTensors() -> [(name: String, tensor: Tensor)] { gathered ?? inner.stateTensors() }

    func restore(stepCount: Int, saved: (String) throws -> [Float]?) throws {
        try inner.restore(stepCount: stepCount, saved: saved)
    }

    private static func bytes(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }  // allowed: 0..<8

    /// (name, shape) of each entry `gatherState` wrote; nil for bytes it did not write.
    private static func entries(_ bytes: [UInt8]) -> [(name: String, shape: [Int])]? {
        var offset = 0, result: [(String, [Int])] = []
        func next() -> Int? {
            guard offset + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }  // allowed: a byte and 0..<8 widen
            offset += 8
            return Int(exactly: value)
        }
        while offset < bytes.count {
            guard let length = next(), length <= bytes.count - offset else { return nil }
            let name = String(decoding: bytes[offset..<offset + length], as: UTF8.self)
            offset += length
            guard let rank = next(), rank <= 8 else { return nil }
            var shape: [Int] = []
            for _ in 0..<rank {
                guard let dimension = next() else { return nil }
                shape.append(dimension)
            }
            result.append((name, shape))
        }
        return result
    }
}

extension ShardedOptimizer {
    /// ZeRO-2: each rank's run of gradients summed on that rank alone, in buckets of `bucketElements`.
    func reduceGradients(_ gradients: GradientStore, bucketElements: Int, label: String) throws {
        for rank in 0..<communicator.worldSize {
            let tensors = try run(of: rank).map { index -> Tensor in
                guard let gradient = gradients[parameters[index].name] else {
                    throw TrainingError.internalError("the gradient store has no buffer for trainable parameter '\(parameters[index].name)'")
                }
                return gradient
            }
            var start = 0
            while start < tensors.count {
                // One bucket: whole tensors up to bucketElements (at least one).
                var end = start + 1, elements = tensors[start].count
                while end < tensors.count && elements + tensors[end].count <= bucketElements {
                    elements += tensors[end].count
                    end += 1
                }
                var values: [Float] = []
                for tensor in tensors[start..<end] { values += try backend.download(tensor) }
                try communicator.reduceSum(&values, root: rank, label: "\(label) (rank \(rank)'s gradients)")
                if rank == communicator.rank {
                    var offset = 0
                    for tensor in tensors[start..<end] {
                        let next = offset + tensor.count
                        try backend.copy(try backend.upload(Array(values[offset..<next]), shape: tensor.shape, dtype: .f32), into: tensor)
                        offset = next
                    }
                }
                start = end
            }
        }
    }

    /// ZeRO-2's clipping: the global norm summed from each rank's own gradients, and this rank's
    /// gradients scaled as `clipGradientNorm` scales all of them. Returns the norm before clipping.
    func clipOwnedGradients(_ gradients: GradientStore, maxNorm: Double, label: String) throws -> Double {
        let mine = run(of: communicator.rank).compactMap { gradients[parameters[$0].name] }
        var squares = [mine.isEmpty ? 0 : try backend.sumOfSquares(mine)]
        try communicator.allReduceSum(&squares, label: label)
        let norm = squares[0].squareRoot()
        guard maxNorm > 0 else { return norm }
        let coefficient = Float(maxNorm) / (Float(norm) + 1e-6)
        if coefficient < 1 {
            for tensor in mine { try backend.scale(tensor, by: coefficient) }
        }
        return norm
    }
}
