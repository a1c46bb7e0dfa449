import TailorModels
import TailorTensor

extension Backend {
    /// The values of `tensors`, end to end.
    func concatenated(_ tensors: [Tensor]) throws -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
        for tensor in tensors { values += try download(tensor) }
        return values
    }

    /// `values` (as `concatenated` laid them out) written back into `tensors`.
    func split(_ values: [Float], into tensors: [Tensor]) throws {
        var offset = 0
        for tensor in tensors {
            let next = offset + tensor.count
            try copy(try upload(Array(values[offset..<next]), shape: tensor.shape, dtype: .f32), into: tensor)
            offset = next
        }
    }
}

/// `tensors` in order, cut into buckets of whole tensors of at most `elements` elements (a tensor
/// larger than that is a bucket of its own): each bucket is one collective.
func buckets(_ tensors: [Tensor], elements: Int) -> [[Tensor]] {
    var result: [[Tensor]] = [], current: [Tensor] = [], size = 0
    for tensor in tensors {
        if !current.isEmpty && size + tensor.count > elements {
            result.append(current)
            current = []
            size = 0
        }
        current.append(tensor)
        size += tensor.count
    }
    if !current.isEmpty { result.append(current) }
    return result
}

extension Communicator {
    /// Every gradient of `gradients` replaced by its sum over ranks, in buckets of at most
    /// `bucketElements` (DDP's bucket_cap_mb, 25 MB), each one all-reduce.
    func allReduceSum(_ gradients: GradientStore, backend: Backend, label: String, bucketElements: Int) throws {
        for bucket in buckets(gradients.names.compactMap { gradients[$0] }, elements: bucketElements) {
            var values = try backend.concatenated(bucket)
            try allReduceSum(&values, label: label)
            try backend.split(values, into: bucket)
        }
    }

    /// Rank 0's values of every parameter in `parameters` on every rank (DDP's broadcast at start-up).
    func broadcastFromMain(_ parameters: [TrainableParameter], backend: Backend, label: String) throws {
        for parameter in parameters {
            var values = try backend.download(parameter.value)
            try broadcast(&values, root: 0, label: "\(label) (\(parameter.name))")
            try backend.split(values, into: [parameter.value])
        }
    }
}
