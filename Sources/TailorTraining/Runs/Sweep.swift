import Foundation

/// A grid of recipe values (`tailor sweep --grid r=8,16 --grid learning_rate=1e-4,2e-4`, or a YAML
/// `sweep:` block): one run per combination, each into output_dir/<name>, where the name spells the
/// combination (`r-8_learning_rate-1e-4`).
public struct Sweep: Sendable {
    /// A grid axis: a recipe key and its values, as written.
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [String]

        public init(key: String, values: [String]) {
            self.key = key
            self.values = values
        }
    }

    /// One run of the grid: its folder name and the (key, value) pairs it sets.
    public struct Combination: Sendable, Equatable {
        public var name: String
        public var values: [(key: String, value: String)]

        public static func == (a: Combination, b: Combination) -> Bool {
            a.name == b.name && a.values.map(\.key) == b.values.map(\.key) && a.values.map(\.value) == b.values.map(\.value)
        }
    }

    /// How a run's folder stands when the sweep reaches it.
    public enum RunState: Sendable, Equatable {
        /// metrics.jsonl ends with the `finished` event: skipped.
        case finished
        /// Stopped with a checkpoint-N/: resumed from the latest one.
        case resumable
        /// Nothing usable: trained from the start (what a stopped run left is replaced).
        case fresh
    }

    public let axes: [Axis]

    /// - Throws: `TrainingError.invalidValue` for an axis without values, a key given twice, a value given
    ///   twice on one axis; `.unknownKey` (with the nearest key) for a key that is not a recipe key; and
    ///   `.conflictingKeys` for output_dir (every run's own folder is the sweep's to choose).
    public init(_ axes: [Axis]) throws {
        guard !axes.isEmpty else {
            throw TrainingError.invalidValue(key: "--grid", problem: "is empty: give at least one KEY=V1,V2 (e.g. --grid r=8,16)")
        }
        var seen: Set<String> = []
        for axis in axes {
            guard RecipeKeys.bySpelling[axis.key] != nil else { throw TrainingError.unknownKey(axis.key, nearest: RecipeKeys.nearest(to: axis.key)) }
            let canonical = RecipeKeys.bySpelling[axis.key]?.name ?? axis.key
            if canonical == "output_dir" {
                throw TrainingError.conflictingKeys(key: "output_dir", other: "--grid", problem: "is the sweep's folder; each run writes output_dir/<its name>")
            }
            guard seen.insert(canonical).inserted else {
                throw TrainingError.invalidValue(key: "--grid", problem: "names \(canonical) twice; give all its values in one --grid \(axis.key)=V1,V2")
            }
            guard !axis.values.isEmpty, axis.values.allSatisfy({ !$0.isEmpty }) else {
                throw TrainingError.invalidValue(key: "--grid \(axis.key)", problem: "has no values (or an empty one): write \(axis.key)=V1,V2")
            }
            if let repeated = axis.values.first(where: { value in axis.values.filter { $0 == value }.count > 1 }) {
                throw TrainingError.invalidValue(key: "--grid \(axis.key)", problem: "gives \(repeated) twice: two runs would write the same folder")
            }
        }
        self.axes = axes
    }

    /// `KEY=V1,V2,...` as --grid takes it.
    public static func axis(parsing text: String) throws -> Axis {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw TrainingError.invalidValue(key: "--grid", problem: "'\(text)' is not KEY=V1,V2 (e.g. r=8,16,32)")
        }
        let values = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        return Axis(key: String(text[..<equals]).trimmingCharacters(in: .whitespaces), values: values)
    }

    /// Every combination, the first axis varying slowest, each named by its values.
    /// - Throws: `TrainingError.invalidValue` when two combinations' names would be the same folder.
    public func combinations() throws -> [Combination] {
        var result: [[(key: String, value: String)]] = [[]]
        for axis in axes {
            result = result.flatMap { partial in axis.values.map { partial + [(axis.key, $0)] } }
        }
        let combinations = result.map { Combination(name: Self.name($0), values: $0) }
        var names: Set<String> = []
        for combination in combinations where !names.insert(combination.name).inserted {
            throw TrainingError.invalidValue(key: "--grid", problem: "two runs would write the same folder \(combination.name); make the values differ in more than punctuation")
        }
        return combinations
    }

    /// `r-8_learning_rate-1e-4`: each key-value with `-`, joined with `_`; characters a folder name
    /// should not hold become `-`.
    static func name(_ values: [(key: String, value: String)]) -> String {
        values.map { "\($0.key)-\($0.value)" }.joined(separator: "_").map { character -> Character in
            character.isLetter || character.isNumber || "-_.+".contains(character) ? character : "-"
        }.reduce(into: "") { $0.append($1) }
    }

    /// Whether the run in `folder` finished, can resume from a checkpoint, or starts afresh.
    public static func state(of folder: URL) -> RunState {
        if let text = try? String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8),
           text.split(separator: "\n").last?.contains(#""event": "finished""#) == true {
            return .finished
        }
        let children = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return children.contains { $0.hasPrefix("checkpoint-") } ? .resumable : .fresh
    }
}
