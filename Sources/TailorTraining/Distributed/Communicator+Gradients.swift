import TailorModels
import TailorTensor

extension Communicator {
    /// Every gradient of `gradients` replaced by its sum over ranks, in buckets of about
    /// `bucketBytes` (DDP's bucket_cap_mb, 25 MB), each one all-reduce.
    func allReduceSum(_ gradients: GradientStore, backend: Backend, label: String, bucketBytes: Int) throws {
        var bucket: [(tensor: Tensor, count: Int)] = [], values: [Float] = []
        func flush() throws {
            guard !bucket.isEmpty else { return }
            try allReduceSum(&values, label: label)
            var offset = 0
            for (tensor, count) in bucket {
                let summed = try backend.upload(Array(values[offset..<offset + count]), shape: tensor.shape, dtype: .f32)
                try backend.copy(summed, into: tensor)
                offset += count
            }
            bucket.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
        }
        for name in gradients.names {
            guard let tensor = gradients[name] else { continue }
            values += try backend.download(tensor)
            bucket.append((tensor, tensor.count))
            if values.count * MemoryLayout<Float>.size >= bucketBytes { try flush() }
        }
        try flush()
    }

    /// Rank 0's values of every parameter in `parameters` on every rank (DDP's broadcast at start-up).
    func broadcastFromMain(_ parameters: [TrainableParameter], backend: Backend, label: String) throws {
        for parameter in parameters {
            var values = try backend.download(parameter.value)
            try broadcast(&values, root: 0, label: "\(label) (\(parameter.name))")
            try backend.copy(try backend.upload(values, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
        }
    }
}
