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

    /// Rank `rank`'s parameters, in order.
    func run(of rank: Int) -> [TrainableParameter] { zip(parameters, owners).filter { $0.1 == rank }.map(\.0) }

    /// This rank's update of its own parameters, then every parameter from its owner.
    func step(gradients: GradientStore, lr: Double) throws {
        try inner.step(gradients: gradients, lr: lr)
        for rank in 0..<communicator.worldSize {
            let members = run(of: rank).map(\.value)
            guard !members.isEmpty else { continue }
            var values = rank == communicator.rank ? try backend.concatenated(members)
                : [Float](repeating: 0, count: members.reduce(0) { $0 + $1.count })
            try communicator.broadcast(&values, root: rank, label: "step \(stepCount)'s broadcast of rank \(rank)'s updated parameters")
            if rank != communicator.rank { try backend.split(values, into: members) }
        }
    }

    /// Collects every rank's optimizer state on rank 0 (a collective: every rank calls it); rank 0's
    /// `stateTensors` then returns it all until `dropGathered`.
    func gatherState() throws {
        let mine = inner.stateTensors()
        var header = RankBytesWriter()
        for (name, tensor) in mine {
            header.append(name)
            header.append(count: tensor.shape.count)
            for dimension in tensor.shape { header.append(count: dimension) }
        }
        let headers = try communicator.allGather(header.bytes, label: "the optimizer state's names for a checkpoint")
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

    /// (name, shape) of each entry `gatherState` wrote; nil for bytes it did not write.
    private static func entries(_ bytes: [UInt8]) -> [(name: String, shape: [Int])]? {
        var reader = RankBytesReader(bytes), result: [(String, [Int])] = []
        while !reader.atEnd {
            guard let name = reader.string(), let rank = reader.count(), rank <= 8 else { return nil }
            var shape: [Int] = []
            for _ in 0..<rank {
                guard let dimension = reader.count() else { return nil }
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
            let tensors = try run(of: rank).map { try gradient(of: $0, in: gradients) }
            for bucket in buckets(tensors, elements: bucketElements) {
                var values = try backend.concatenated(bucket)
                try communicator.reduceSum(&values, root: rank, label: "\(label) (rank \(rank)'s gradients)")
                if rank == communicator.rank { try backend.split(values, into: bucket) }
            }
        }
    }

    /// ZeRO-2's clipping: the global norm summed from each rank's own gradients, and this rank's
    /// gradients scaled as `clipGradientNorm` scales all of them. Returns the norm before clipping.
    func clipOwnedGradients(_ gradients: GradientStore, maxNorm: Double, label: String) throws -> Double {
        let mine = try run(of: communicator.rank).map { try gradient(of: $0, in: gradients) }
        var squares = [mine.isEmpty ? 0 : try backend.sumOfSquares(mine)]
        try communicator.allReduceSum(&squares, label: label)
        let norm = squares[0].squareRoot()
        try clip(mine, norm: norm, maxNorm: maxNorm, backend: backend)
        return norm
    }
}
