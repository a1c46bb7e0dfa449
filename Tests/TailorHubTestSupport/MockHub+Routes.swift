import Foundation
import Hummingbird

extension MockHub {
    func respond(_ request: Request, head: Bool) async throws -> Response {
        let path = request.uri.path
        let authorization = request.headers[.authorization]
        let range = request.headers[.range]
        let this = Seen(method: head ? "HEAD" : "GET", path: path, range: range, authorization: authorization, host: request.head.authority)
        lock.withLock { observer }?(this)
        let failure: Int? = lock.withLock {
            seen.append(this)
            guard let key = failures.keys.first(where: { path.hasSuffix($0) }), var statuses = failures[key], !statuses.isEmpty else { return nil }
            let status = statuses.removeFirst()
            failures[key] = statuses
            return status
        }
        if let failure { return Response(status: .init(code: failure), headers: [.contentLength: "0"]) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0.removingPercentEncoding ?? String($0) }
        if parts.first == "lfs-storage", parts.count == 2 { return try await storage(parts[1], range: range, head: head) }
        if parts.first == "api", parts.count > 1, parts[1] == "v1" {
            var query: [String: String] = [:]
            for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
            return modelScope(parts, query: query, authorization: authorization, cookie: request.headers[.cookie], range: range, head: head)
        }
        if parts.first == "api", parts.count >= 6 { return api(parts, authorization: authorization) }
        return resolve(parts, authorization: authorization, head: head)
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, commit: String? = nil) -> Response {
        var headers: HTTPFields = [FieldName("X-Error-Code")!: code, FieldName("X-Error-Message")!: message, .contentType: "application/json"]
        if let commit { headers[FieldName("X-Repo-Commit")!] = commit }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"\(message)\"}")))
    }

    /// The repository, or the error the hub gives when it is missing or private without the token.
    func repository(kind: String, org: String, name: String, authorization: String?) -> Result<Repo, ResponseError> {
        guard let repo = lock.withLock({ repos["\(kind)/\(org)/\(name)"] }) else {
            return .failure(ResponseError(Self.error(authorization == nil ? .unauthorized : .notFound, "RepoNotFound", "Repository not found")))
        }
        if repo.isPrivate && authorization != "Bearer \(token)" {
            return .failure(ResponseError(Self.error(.unauthorized, "RepoNotFound", "Invalid username or password.")))
        }
        return .success(repo)
    }

    func commit(of repo: Repo, _ revision: String) -> String? {
        if revision == repo.commit { return revision }
        return repo.branches[revision]
    }

    func api(_ parts: [String], authorization: String?) -> Response {
        // api / models / org / name / revision|tree / rev
        let repo: Repo
        switch repository(kind: parts[1], org: parts[2], name: parts[3], authorization: authorization) {
        case .failure(let error): return error.response
        case .success(let found): repo = found
        }
        guard let commit = commit(of: repo, parts[5]) else { return Self.error(.notFound, "RevisionNotFound", "Invalid rev id: \(parts[5])") }
        let json: String
        switch parts[4] {
        case "revision":
            let siblings = repo.files.map { "{\"rfilename\":\(Self.quoted($0.path))}" }.joined(separator: ",")
            json = "{\"_id\":\"mock\",\"id\":\(Self.quoted(repo.id)),\"modelId\":\(Self.quoted(repo.id)),\"private\":\(repo.isPrivate),\"sha\":\"\(commit)\","
                + "\"lastModified\":\"2026-01-01T00:00:00.000Z\",\"tags\":[],\"downloads\":0,\"likes\":0,\"siblings\":[\(siblings)]}"
        case "tree":
            var entries: [String] = []
            let folders = Set(repo.files.flatMap { file in
                let parts = file.path.split(separator: "/").dropLast()
                return parts.indices.map { parts[...$0].joined(separator: "/") }
            })
            for folder in folders.sorted() { entries.append("{\"type\":\"directory\",\"oid\":\"\(String(repeating: "0", count: 40))\",\"size\":0,\"path\":\(Self.quoted(folder))}") }
            for file in repo.files {
                let lfs = file.lfs ? ",\"lfs\":{\"oid\":\"\(file.sha256)\",\"size\":\(file.bytes.count),\"pointerSize\":134}" : ""
                entries.append("{\"type\":\"file\",\"oid\":\"\(file.blobID)\",\"size\":\(file.bytes.count),\"path\":\(Self.quoted(file.path))\(lfs)}")
            }
            json = "[" + entries.joined(separator: ",") + "]"
        default:
            return Self.error(.notFound, "NotFound", "no such API")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// [datasets/] org / name / resolve / rev / path...
    func resolve(_ parts: [String], authorization: String?, head: Bool) -> Response {
        var parts = parts[...]
        var kind = "models"
        if parts.first == "datasets" { kind = "datasets"; parts = parts.dropFirst() }
        guard parts.count >= 5, parts[parts.startIndex + 2] == "resolve" else { return Self.error(.notFound, "NotFound", "no such page") }
        let org = parts[parts.startIndex], name = parts[parts.startIndex + 1], revision = parts[parts.startIndex + 3]
        let filePath = parts.dropFirst(4).joined(separator: "/")
        let repo: Repo
        switch repository(kind: kind, org: org, name: name, authorization: authorization) {
        case .failure(let error): return error.response
        case .success(let found): repo = found
        }
        guard let commit = commit(of: repo, revision) else { return Self.error(.notFound, "RevisionNotFound", "Invalid rev id: \(revision)") }
        guard let file = repo.files.first(where: { $0.path == filePath }) else {
            return Self.error(.notFound, "EntryNotFound", "\(filePath) does not exist on \"\(revision)\"", commit: commit)
        }
        var headers: HTTPFields = [FieldName("X-Repo-Commit")!: commit, .acceptRanges: "bytes"]
        if file.lfs {
            headers[.location] = "http://localhost:\(port)/lfs-storage/\(file.sha256)"
            headers[FieldName("X-Linked-Etag")!] = "\"\(file.sha256)\""
            headers[FieldName("X-Linked-Size")!] = "\(file.bytes.count)"
            headers[.eTag] = "\"\(file.blobID)\""
            headers[.contentLength] = "0"
            return Response(status: .found, headers: headers)
        }
        headers[.eTag] = "\"\(file.blobID)\""
        headers[.contentLength] = "\(file.bytes.count)"
        headers[.contentType] = "text/plain; charset=utf-8"
        if head { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: served(file))))
    }

    func served(_ file: File) -> [UInt8] {
        var bytes = file.bytes
        if lock.withLock({ corrupt.contains(file.path) }), !bytes.isEmpty { bytes[0] ^= 0xFF }
        return bytes
    }

    func storage(_ sha256: String, range: String?, head: Bool) async throws -> Response {
        let all = lock.withLock { repos.values.flatMap(\.files) }
        guard let file = all.first(where: { $0.sha256 == sha256 }) else { return Response(status: .notFound, headers: [.contentLength: "0"]) }
        let delay = lock.withLock { holdStorage }
        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
        let bytes = served(file)
        var start = 0
        if let range, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") { start = min(from, bytes.count) }
        var headers: HTTPFields = [.acceptRanges: "bytes", .contentType: "application/octet-stream", .eTag: "\"\(sha256)\""]
        let status: HTTPResponse.Status = start > 0 ? .partialContent : .ok
        if start > 0 { headers[.contentRange] = "bytes \(start)-\(bytes.count - 1)/\(bytes.count)" }
        let body = Array(bytes[start...])
        headers[.contentLength] = "\(body.count)"
        if head { return Response(status: status, headers: headers) }
        let cut: Int? = lock.withLock {
            guard var cuts = dropAfter[file.path], !cuts.isEmpty else { return nil }
            let cut = cuts.removeFirst()
            dropAfter[file.path] = cuts
            return cut
        }
        guard let cut, cut < body.count else { return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body))) }
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: body.count) { writer in
            try await writer.write(ByteBuffer(bytes: body[..<cut]))
            throw MockHubError.dropped
        })
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

struct ResponseError: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}

/// A header name (HTTPTypes' `HTTPField.Name`, reached through the `HTTPFields` Hummingbird exports).
typealias FieldName = HTTPFields.Element.Name
