/// Memory owned by a backend. Model code never dereferences it: on the CPU it is host memory,
/// on a GPU it is a device pointer. Only the backend that made it may read or write it.
public protocol TensorStorage: AnyObject, Sendable {
    /// Size of the allocation in bytes.
    var byteCount: Int { get }
}

/// A typed, shaped view of backend-owned memory.
///
/// A tensor is a value: copying it copies the view, not the data. Views are contiguous and
/// row-major; `rows(_:)` and `reshaped(_:)` make new views of the same storage.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let storage: any TensorStorage
    public let dtype: DType
    public let shape: [Int]
    /// Offset of the first element, in bytes, from the start of `storage`.
    public let byteOffset: Int

    public init(storage: any TensorStorage, dtype: DType, shape: [Int], byteOffset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        let bytes = shape.reduce(1, *) * dtype.byteSize
        precondition(!dtype.isBlockQuantized || byteOffset == 0, "a \(dtype) tensor views its whole storage")
        precondition(byteOffset >= 0 && byteOffset + bytes <= storage.byteCount,
                     "view \(shape) \(dtype) at +\(byteOffset) exceeds storage of \(storage.byteCount) bytes")
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.byteOffset = byteOffset
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of bytes the view covers: for a block-quantized tensor (`nf4`, `fp4`), all its storage
    /// holds, the packed codes and the per-block scales.
    public var byteCount: Int { dtype.isBlockQuantized ? storage.byteCount : count * dtype.byteSize }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Size of the leading dimension (1 for a scalar).
    public var rowCount: Int { shape.first ?? 1 }
    /// Elements per leading-dimension row.
    public var rowLength: Int { shape.isEmpty ? 1 : shape.dropFirst().reduce(1, *) }

    /// The same data with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(storage: storage, dtype: dtype, shape: newShape, byteOffset: byteOffset)
    }

    /// Rows `range` of the leading dimension, as a view.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "rows \(range) of \(shape)")
        precondition(!dtype.isBlockQuantized, "rows of a \(dtype) tensor: its blocks need not start at a row")
        var newShape = shape
        if newShape.isEmpty { newShape = [1] }
        newShape[0] = range.count
        return Tensor(storage: storage, dtype: dtype, shape: newShape,
                      byteOffset: byteOffset + range.lowerBound * rowLength * dtype.byteSize)
    }

    /// Whether two tensors view overlapping bytes of one storage.
    public func overlaps(_ other: Tensor) -> Bool {
        guard storage === other.storage else { return false }
        return byteOffset < other.byteOffset + other.byteCount && other.byteOffset < byteOffset + byteCount
    }

    public var description: String { "Tensor(\(dtype), \(shape))" }
}
