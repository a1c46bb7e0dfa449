/// A hub repository: `ORG/NAME` and its kind. Validated as huggingface_hub's `validate_repo_id` does
/// (letters, digits, `-`, `_`, `.`; no `--` or `..`; at most 96 characters), but the org is required.
public struct RepoID: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case model, dataset
        /// The path segment of the API (`/api/models/...`) and of the cache folder (`models--...`).
        public var plural: String { rawValue + "s" }
        /// The resolve URL's prefix: models have none, datasets `datasets/`.
        var urlPrefix: String { self == .model ? "" : "datasets/" }
    }

    public let org: String
    public let name: String
    public let kind: Kind

    public init(_ id: String, kind: Kind = .model) throws {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, id.count <= 96, parts.allSatisfy(Self.isValidPart) else { throw HubError.invalidRepoID(id) }
        org = parts[0]
        name = parts[1]
        self.kind = kind
    }

    static func isValidPart(_ part: String) -> Bool {
        guard !part.isEmpty, !part.contains("--"), !part.contains(".."), part.first != "-", part.first != ".",
              part.last != "-", part.last != "." else { return false }
        return part.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0) }
    }

    public var id: String { "\(org)/\(name)" }
    public var description: String { id }
    /// huggingface_hub's `repo_folder_name`: `models--org--name`.
    public var folderName: String { "\(kind.plural)--\(org)--\(name)" }
}
