import Foundation
import TailorJSON

/// LLaMA-Factory's dataset registry: `dataset_dir/dataset_info.json` maps a dataset name to its
/// file and layout (`file_name`, `formatting`, `columns`, `tags`, `ranking`), so a recipe may say
/// `dataset: identity,alpaca_en_demo` instead of paths. Names resolve to local files; an entry
/// whose layout Tailor would read differently from LLaMA-Factory is an error naming the entry
/// and field, never a silent misreading.
public struct DatasetRegistry: Sendable {
    /// One dataset of a recipe: a path (file, folder or glob) and the format its entry names
    /// (nil: detected per record, as for a plain path).
    public struct Resolved: Sendable, Equatable {
        public var path: String
        public var format: DatasetFormat?
        /// The registry name it came from (nil for a path given as is).
        public var name: String?
    }

    /// `dataset_info.json`'s path.
    public let file: String
    let entries: JSONObject

    /// Reads `folder/dataset_info.json`; nil when the folder has none.
    /// - Throws: `DataError.fileNotReadable` for a file that is not a JSON object (naming line and column).
    public static func load(folder: String) throws -> DatasetRegistry? {
        let file = (folder as NSString).appendingPathComponent("dataset_info.json")
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let root: JSONValue
        do {
            root = try JSONValue(parsing: [UInt8](data), file: file)
        } catch {
            throw DataError.fileNotReadable(path: file, reason: "\(error)")
        }
        guard let entries = root.objectValue else {
            throw DataError.fileNotReadable(path: file, reason: "is not a JSON object of dataset names")
        }
        return DatasetRegistry(file: file, entries: entries)
    }

    /// The datasets `items` name: each item is a path, or one or more registry names separated
    /// by commas (LLaMA-Factory's `dataset: a,b`). A path that exists, or that has a slash, a dot
    /// (a file name's extension) or a glob character, is taken as it is.
    public static func resolve(_ items: [String], folder: String) throws -> [Resolved] {
        let registry = try load(folder: folder)
        var resolved: [Resolved] = []
        for item in items {
            if isPath(item) {
                resolved.append(Resolved(path: item, format: nil, name: nil))
                continue
            }
            for name in item.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let registry else {
                    throw DataError.invalidOption(name: "dataset", reason: "'\(name)' is not a file, and \(folder) has no dataset_info.json to look the name up in; give a path, or set dataset_dir to LLaMA-Factory's data folder")
                }
                resolved.append(try registry.entry(name, folder: folder))
            }
        }
        return resolved
    }

    static func isPath(_ item: String) -> Bool {
        item.contains("/") || item.contains(".") || item.contains("*") || item.contains("?") || FileManager.default.fileExists(atPath: item)
    }

    /// The file and format of `name`'s entry.
    func entry(_ name: String, folder: String) throws -> Resolved {
        func bad(_ field: String, _ problem: String) -> DataError {
            .invalidOption(name: "dataset", reason: "\(file): '\(name)'.\(field) \(problem)")
        }
        guard let value = entries[name] else {
            let known = entries.keys.sorted().prefix(12).joined(separator: ", ")
            throw DataError.invalidOption(name: "dataset", reason: "'\(name)' is neither a file nor a name in \(file) (it names \(entries.count): \(known)\(entries.count > 12 ? ", ..." : ""))")
        }
        guard let entry = value.objectValue else { throw bad("", "is not an object") }
        guard let fileName = entry["file_name"]?.stringValue else {
            let hub = ["hf_hub_url", "ms_hub_url", "om_hub_url", "script_url"].first { entry[$0] != nil }
            throw bad(hub ?? "file_name", hub.map { "names a dataset on a hub (\(entry[$0]?.stringValue ?? "")); Tailor reads local files: download it and give file_name" }
                ?? "is missing: Tailor reads the local file an entry names")
        }
        for field in ["subset", "split", "folder", "num_samples"] where entry[field] != nil {
            throw bad(field, "is set, which Tailor does not read yet; give a file_name of the records to train on")
        }
        if entry["kto_tag"] != nil || entry["columns"]?.objectValue?["kto_tag"] != nil {
            throw bad("columns.kto_tag", "makes it a KTO dataset; tailor train trains stage sft (KTO is not built yet)")
        }
        let formatting = entry["formatting"]?.stringValue ?? "alpaca"
        let columns = entry["columns"]?.objectValue ?? JSONObject()
        let tags = entry["tags"]?.objectValue ?? JSONObject()
        let format: DatasetFormat?
        switch formatting {
        case "alpaca":
            // What Tailor's alpaca reader reads under each LLaMA-Factory column name.
            if columns.keys == ["prompt"], columns["prompt"]?.stringValue == "text" {
                format = .text
            } else {
                try Self.check(columns, as: ["prompt": "instruction", "query": "input", "response": "output", "system": "system",
                                             "history": "history", "chosen": "chosen", "rejected": "rejected"], bad)
                format = entry["ranking"]?.boolValue == true ? nil : .alpaca
            }
            if !tags.isEmpty { throw bad("tags", "is set on an alpaca dataset, where LLaMA-Factory has no tags") }
        case "sharegpt":
            let openAI: [String: String] = ["role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                                            "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"]
            let shareGPT: [String: String] = ["role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                                              "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"]
            let isOpenAI = tags["role_tag"]?.stringValue == "role"
            try Self.check(tags, as: isOpenAI ? openAI : shareGPT, bad, prefix: "tags.")
            let messages = isOpenAI ? "messages" : "conversations"
            try Self.check(columns, as: ["messages": messages, "system": "system", "tools": "tools", "chosen": "chosen", "rejected": "rejected"], bad)
            format = entry["ranking"]?.boolValue == true ? nil : (isOpenAI ? .messages : .sharegpt)
        default:
            throw bad("formatting", "is '\(formatting)'; LLaMA-Factory's formattings are alpaca and sharegpt")
        }
        let path = fileName.hasPrefix("/") ? fileName : (folder as NSString).appendingPathComponent(fileName)
        return Resolved(path: path, format: format, name: name)
    }

    /// Each column (or tag) the entry maps must map to the field Tailor reads under that name.
    static func check(_ mapping: JSONObject, as expected: [String: String], _ bad: (String, String) -> DataError,
                      prefix: String = "columns.") throws {
        for (key, value) in mapping {
            guard let field = value.stringValue else { throw bad(prefix + key, "must be a field name") }
            guard let wanted = expected[key] else {
                throw bad(prefix + key, "is a column Tailor does not read for this formatting")
            }
            if field != wanted {
                throw bad(prefix + key, "maps to '\(field)', but Tailor reads '\(wanted)' there; rename the field in the file, or use dataset_format columns with prompt_template / response_template")
            }
        }
    }
}
