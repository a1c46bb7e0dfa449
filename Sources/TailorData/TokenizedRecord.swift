import TailorTokenizers

/// Pre-tokenized records (`tokenized` format): token ids a dataset already holds, as
/// `datasets.map(tokenizer)` or TRL's preprocessing saves them. They skip the chat template and
/// the tokenizer and become `EncodedSample`s as they are.
///
///     {"input_ids": [1, 306, 4658, 2], "labels": [-100, -100, 4658, 2], "attention_mask": [1, 1, 1, 1]}
///
/// - `input_ids`: a non-empty list of token ids (integers ≥ 0).
/// - `labels` (optional): as long as `input_ids`, each a token id or -100 (not trained on).
///   Absent or null: every token is trained, as TRL does for pre-tokenized data without a
///   completion mask.
/// - `attention_mask` (optional): 1s, then optionally 0s: right padding, which is dropped with
///   its ids and labels. Left padding or holes are an error: Tailor lays samples end to end and
///   never needs padding, so save the records without it.
///
/// - `completion_mask`, `assistant_masks` (optional, TRL's): as long as `input_ids`, 0 or 1; a 0
///   masks that token's label (-100), as TRL's completion-only and assistant-only losses do.
///
/// Other fields (`text`, `messages`, `length`, ...) are ignored. Whether the ids fit the model's
/// vocabulary is checked where the model is known (the Trainer), naming the record.
public enum TokenizedRecord {
    /// The field that marks a record as pre-tokenized.
    public static let idsField = "input_ids"
    /// The field that marks a record as a pre-tokenized preference pair (TRL's DPO columns
    /// `prompt_ids`, `chosen_ids`, `rejected_ids`).
    public static let chosenIdsField = "chosen_ids"
    /// TRL's per-token loss masks: 1 trains the token, 0 masks its label.
    static let maskFields = ["completion_mask", "assistant_masks"]

    /// The sample a record holds.
    /// - Throws: `DataError.missingField` / `.wrongType` naming the file, line and field
    ///   (`input_ids[3]`, `labels`, `attention_mask[0]` ...).
    public static func sample(from record: Record) throws -> EncodedSample {
        let at = record.source
        guard case .object(let o) = record.value else {
            throw DataError.wrongType(at, field: "(record)", expected: "a JSON object", found: RecordConverter.typeName(record.value))
        }
        guard let idsValue = o[idsField] else { throw DataError.missingField(at, field: idsField) }
        var ids = try integers(idsValue, field: idsField, at: at, allowed: "a token id (an integer ≥ 0)") { $0 >= 0 }
        guard !ids.isEmpty else {
            throw DataError.wrongType(at, field: idsField, expected: "a non-empty list of token ids", found: "an empty list")
        }
        var labels = ids
        if let value = o["labels"], value != .null {
            labels = try integers(value, field: "labels", at: at, allowed: "a token id or -100") {
                $0 >= 0 || $0 == EncodedSample.ignoreIndex
            }
            try checkLength(labels.count, of: "labels", ids: ids.count, at: at)
        }
        for field in maskFields {
            guard let mask = try binaryMask(o, field, ids: ids.count, at: at) else { continue }
            for index in mask.indices where mask[index] == 0 { labels[index] = EncodedSample.ignoreIndex }
        }
        if let mask = try binaryMask(o, "attention_mask", ids: ids.count, at: at) {
            let kept = try rightPaddingStart(mask, at: at)
            ids.removeSubrange(kept...)
            labels.removeSubrange(kept...)
        }
        return EncodedSample(inputIds: ids, labels: labels, source: at)
    }

    /// Whether `record` is TRL's tokenized KTO example (`prompt_ids`, `completion_ids`, `label`).
    public static func isUnpaired(_ record: Record) -> Bool {
        guard case .object(let o) = record.value else { return false }
        return o["completion_ids"] != nil
    }

    /// The example a record of TRL's tokenized KTO columns holds.
    /// - Throws: `DataError.missingField` / `.wrongType` naming the file, line and field.
    public static func unpaired(from record: Record) throws -> EncodedCompletion {
        let at = record.source
        guard case .object(let o) = record.value else {
            throw DataError.wrongType(at, field: "(record)", expected: "a JSON object", found: RecordConverter.typeName(record.value))
        }
        guard let promptValue = o["prompt_ids"] else { throw DataError.missingField(at, field: "prompt_ids") }
        let prompt = try integers(promptValue, field: "prompt_ids", at: at, allowed: "a token id (an integer ≥ 0)") { $0 >= 0 }
        guard let completionValue = o["completion_ids"] else { throw DataError.missingField(at, field: "completion_ids") }
        let completion = try integers(completionValue, field: "completion_ids", at: at, allowed: "a token id (an integer ≥ 0)") { $0 >= 0 }
        guard !completion.isEmpty else {
            throw DataError.wrongType(at, field: "completion_ids", expected: "a non-empty list of token ids", found: "an empty list")
        }
        guard case .bool(let label)? = o["label"] else {
            throw DataError.wrongType(at, field: "label", expected: "true (desirable) or false (undesirable)",
                                      found: o["label"].map(RecordConverter.typeName) ?? "nothing")
        }
        return EncodedCompletion(prompt: prompt, completion: completion, desirable: label, source: at)
    }

    /// Whether `record` is a pre-tokenized preference pair.
    public static func isPair(_ record: Record) -> Bool {
        guard case .object(let o) = record.value else { return false }
        return o[chosenIdsField] != nil || o["rejected_ids"] != nil
    }

    /// The pair a record of TRL's tokenized DPO columns holds: `prompt_ids` (may be empty),
    /// `chosen_ids` and `rejected_ids` (each non-empty).
    /// - Throws: `DataError.missingField` / `.wrongType` naming the file, line and field.
    public static func pair(from record: Record) throws -> EncodedPair {
        let at = record.source
        guard case .object(let o) = record.value else {
            throw DataError.wrongType(at, field: "(record)", expected: "a JSON object", found: RecordConverter.typeName(record.value))
        }
        func ids(_ field: String, nonEmpty: Bool) throws -> [Int32] {
            guard let value = o[field] else { throw DataError.missingField(at, field: field) }
            let list = try integers(value, field: field, at: at, allowed: "a token id (an integer ≥ 0)") { $0 >= 0 }
            if nonEmpty, list.isEmpty {
                throw DataError.wrongType(at, field: field, expected: "a non-empty list of token ids", found: "an empty list")
            }
            return list
        }
        return EncodedPair(prompt: try ids("prompt_ids", nonEmpty: false), chosen: try ids(chosenIdsField, nonEmpty: true),
                           rejected: try ids("rejected_ids", nonEmpty: true), source: at)
    }

    /// `sample` cut to `maxLength` tokens on the right (`max_seq_length`), with a `.truncated`
    /// issue when it was longer and a `.fullyMasked` one when it trains nothing.
    public static func fit(_ sample: EncodedSample, maxLength: Int?, issues: inout [DataIssue]) -> EncodedSample {
        var sample = sample
        if let max = maxLength, sample.count > max {
            let original = sample.count
            sample = ConversationEncoder.cutEnd(sample, to: max, issues: &issues)
            sample.truncatedTokens = original - max
        }
        if sample.isFullyMasked { issues.append(ConversationEncoder.fullyMaskedIssue(sample)) }
        return sample
    }

    /// The list of integers `value` holds, each passing `isAllowed`.
    static func integers(_ value: ChatValue, field: String, at: SourceLocation, allowed: String,
                         _ isAllowed: (Int32) -> Bool) throws -> [Int32] {
        guard case .array(let items) = value else {
            throw DataError.wrongType(at, field: field, expected: "a list of integers", found: RecordConverter.typeName(value))
        }
        var out: [Int32] = []
        out.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .int(let number) = item, let narrow = Int32(exactly: number), isAllowed(narrow) else {
                throw DataError.wrongType(at, field: "\(field)[\(index)]", expected: allowed, found: describe(item))
            }
            out.append(narrow)
        }
        return out
    }

    /// The 0/1 list in `field`, as long as input_ids, or nil when the record has none.
    static func binaryMask(_ o: ChatObject, _ field: String, ids: Int, at: SourceLocation) throws -> [Int32]? {
        guard let value = o[field], value != .null else { return nil }
        let mask = try integers(value, field: field, at: at, allowed: "0 or 1") { $0 == 0 || $0 == 1 }
        try checkLength(mask.count, of: field, ids: ids, at: at)
        return mask
    }

    static func checkLength(_ count: Int, of field: String, ids: Int, at: SourceLocation) throws {
        guard count == ids else {
            throw DataError.wrongType(at, field: field, expected: "a list as long as input_ids (\(ids))",
                                      found: "a list of \(count)")
        }
    }

    /// Where the right padding of `mask` starts (its first 0), after checking that only 0s follow.
    static func rightPaddingStart(_ mask: [Int32], at: SourceLocation) throws -> Int {
        guard let firstZero = mask.firstIndex(of: 0) else { return mask.count }
        if let stray = mask[firstZero...].firstIndex(of: 1) {
            throw DataError.wrongType(at, field: "attention_mask", expected: "1s followed by 0s (right padding, which is dropped)",
                                      found: "a 0 at position \(firstZero) before a 1 at position \(stray) (left padding or a hole); save the records without padding")
        }
        guard firstZero > 0 else {
            throw DataError.wrongType(at, field: "attention_mask", expected: "1s followed by 0s (right padding, which is dropped)",
                                      found: "all 0s, which leaves no token")
        }
        return firstZero
    }

    /// A value as an error message shows it: `the string "7"`, `the number 2.5`, `a list`.
    static func describe(_ value: ChatValue) -> String {
        switch value {
        case .int(let number): return "\(number)"
        case .double(let number): return "the number \(number)"
        case .string(let text): return "the string \"\(text.count > 20 ? String(text.prefix(20)) + "…" : text)\""
        default: return RecordConverter.typeName(value)
        }
    }
}
