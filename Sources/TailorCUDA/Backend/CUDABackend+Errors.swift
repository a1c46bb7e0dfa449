import TailorTensor

/// Bad operands found on the device: kernels write the first one to the error word (code, index,
/// value); the backend reads it when it synchronises and throws the error the CPU backend would
/// have thrown at once, naming the op, the operand element and the range it should be in.
extension CUDABackend {
    /// What an op's kernel checks: code 1 + i of the error word means `checks[i]` failed.
    struct Check: Sendable, Equatable {
        /// The operand, e.g. "ids".
        let argument: String
        /// Its valid values, e.g. "a token id in 0..<32000".
        let expected: String
        let shape: [Int]
    }

    /// The ops that may have reported since the last check, newest last.
    final class ErrorLog: @unchecked Sendable {
        struct Entry: Equatable { let op: String; let checks: [Check] }
        private let lock = Mutex()
        private var entries: [Entry] = []

        func record(_ entry: Entry) {
            lock.withLock {
                if entries.last != entry { entries.append(entry) }
                if entries.count > 64 { entries.removeFirst(entries.count - 64) }
            }
        }

        func drain() -> [Entry] { lock.withLock { defer { entries.removeAll() }; return entries } }
    }

    /// The error word as a kernel argument, noting what the op's check codes mean.
    func errorArgument(op: String, _ checks: Check...) throws -> KernelArgument {
        errorLog.record(ErrorLog.Entry(op: op, checks: checks))
        return .pointer(try address(errorWord))
    }

    /// Throws when a kernel has reported a bad operand since the last check, and clears the word.
    /// Only ops that pass the word to a kernel are logged, so with none since the last check the
    /// word is still zero and is not read back.
    func checkErrorWord() throws {
        let recent = errorLog.drain()
        guard !recent.isEmpty else { return }
        var word = [Int32](repeating: 0, count: 4)
        try word.withUnsafeMutableBytes { try device.copyToHost($0.baseAddress!, from: address(errorWord), byteCount: 16) }
        guard word[0] != 0 else { return }
        try device.setBytes(address(errorWord), to: 0, byteCount: 16)
        let index = Int(word[0]) - 1  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        // Several ops may have run since the last check; the newest with this check code reported it.
        guard let entry = recent.last(where: { index < $0.checks.count }) else {
            throw TensorError.shapeMismatch(op: "cuda", argument: "operand check \(index + 1), element \(word[1]) = \(word[2])",
                                            expected: "a value in range", got: [])
        }
        let check = entry.checks[index]
        throw TensorError.shapeMismatch(op: entry.op, argument: "\(check.argument)[\(word[1])] = \(word[2])",
                                        expected: check.expected, got: check.shape)
    }
}
