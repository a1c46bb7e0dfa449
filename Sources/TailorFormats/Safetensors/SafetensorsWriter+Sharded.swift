#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorJSON

extension SafetensorsWriter {
    /// Writes a Hugging Face checkpoint into `folder`: `model.safetensors` when everything fits in one
    /// shard, otherwise `model-00001-of-0000N.safetensors` ... plus `model.safetensors.index.json`.
    ///
    /// Shards are filled in the order of `tensors` like `huggingface_hub.split_torch_state_dict_into_shards`:
    /// a tensor starts a new shard when it would push the current one over `maxShardSize`; a tensor larger
    /// than `maxShardSize` gets a shard of its own. The index is written last, as transformers' `save_pretrained`
    /// writes it: `{"metadata": {"total_parameters": P, "total_size": N}, "weight_map": {...}}` through
    /// `json.dumps(index, indent=2, sort_keys=True) + "\n"` (P counts the elements of all tensors).
    /// Stale files of an earlier save with another shard count (`model-*-of-*.safetensors`, or the index /
    /// single file) are removed afterwards, as `save_pretrained` does.
    /// - Parameters:
    ///   - maxShardSize: bytes per shard; nil writes a single file.
    ///   - prefix: file name stem, `"model"` by default (`"adapter_model"` ...).
    /// - Returns: the files written, shards first, then the index when there is one.
    @discardableResult
    public static func writeCheckpoint(
        _ tensors: [Tensor], metadata: [String: String]? = ["format": "pt"], to folder: URL,
        maxShardSize: Int? = nil, prefix: String = "model"
    ) throws -> [URL] {
        _ = try validated(tensors, path: folder.path)  // report bad input before writing anything
        var shards: [[Tensor]] = []
        var current: [Tensor] = []
        var currentSize = 0
        let limit = maxShardSize ?? Int.max
        for tensor in tensors {
            if tensor.byteCount > limit {
                shards.append([tensor])
                continue
            }
            if currentSize + tensor.byteCount > limit {
                shards.append(current)
                current = []
                currentSize = 0
            }
            current.append(tensor)
            currentSize += tensor.byteCount
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }

        let single = folder.appendingPathComponent("\(prefix).safetensors")
        let indexURL = folder.appendingPathComponent("\(prefix).safetensors.index.json")
        var written: [URL] = []
        if shards.count == 1 {
            try write(shards[0], metadata: metadata, to: single)
            written = [single]
        } else {
            var weightMap: [(String, String)] = []
            for (i, shard) in shards.enumerated() {
                let name = "\(prefix)-\(fiveDigits(i + 1))-of-\(fiveDigits(shards.count)).safetensors"
                let url = folder.appendingPathComponent(name)
                try write(shard, metadata: metadata, to: url)
                written.append(url)
                weightMap += shard.map { ($0.name, name) }
            }
            let totalSize = tensors.reduce(0) { $0 + $1.byteCount }
            let totalParameters = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
            try AtomicFile.write(indexJSON(weightMap: weightMap, totalSize: totalSize, totalParameters: totalParameters),
                                 to: indexURL)
            written.append(indexURL)
        }
        removeStaleFiles(in: folder, prefix: prefix, keeping: Set(written.map(\.lastPathComponent)))
        return written
    }

    private static func fiveDigits(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// `json.dumps({"metadata": {"total_parameters": P, "total_size": N}, "weight_map": map}, indent=2,
    /// sort_keys=True) + "\n"`.
    static func indexJSON(weightMap: [(String, String)], totalSize: Int, totalParameters: Int) -> [UInt8] {
        let index: JSONValue = [
            "metadata": ["total_parameters": .int(totalParameters), "total_size": .int(totalSize)],
            "weight_map": .object(JSONObject(weightMap.map { ($0.0, .string($0.1)) })),
        ]
        return index.bytes(.pythonIndented.sortingKeys()) + [0x0A]
    }

    /// Removes `prefix-NNNNN-of-NNNNN.safetensors`, `prefix.safetensors` and its index when not in `keeping`.
    private static func removeStaleFiles(in folder: URL, prefix: String, keeping: Set<String>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where !keeping.contains(name) {
            if name == "\(prefix).safetensors" || name == "\(prefix).safetensors.index.json" || isShardName(name, prefix: prefix) {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }

    private static func isShardName(_ name: String, prefix: String) -> Bool {
        let head = prefix + "-", tail = ".safetensors"
        guard name.hasPrefix(head), name.hasSuffix(tail) else { return false }
        let middle = name.dropFirst(head.count).dropLast(tail.count)  // 00001-of-00002
        let parts = middle.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[1] == "of" && parts[0].count == 5 && parts[2].count == 5
            && (parts[0] + parts[2]).allSatisfy(\.isASCII) && (parts[0] + parts[2]).allSatisfy(\.isNumber)
    }
}
