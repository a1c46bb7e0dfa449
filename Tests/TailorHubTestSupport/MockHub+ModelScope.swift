import Foundation
import Hummingbird

/// The same repositories as ModelScope serves them (its "legacy" /api/v1 read API, which the `modelscope` client
/// 1.40 / modelscope_hub 0.5 download through):
/// - `GET /api/v1/models/OWNER/NAME`: `{"Code": 200, "Data": {...}, "Success": true}`;
/// - `GET /api/v1/models/OWNER/NAME/repo/files?Revision=R&Recursive=True`: `Data.Files`, each
///   `{"Name", "Path", "Type": "blob"|"tree", "Size", "Sha256", "Revision"}`;
/// - `GET /api/v1/models/OWNER/NAME/repo?Revision=R&FilePath=P`: the bytes (Range honoured), or for LFS files a 302
///   to the storage host (`localhost`), as ModelScope redirects to its object storage;
/// - errors as JSON `{"Code", "Message", "Success": false}`: 404 for a missing repository, revision or file, 401 for a
///   private repository without the token (sent as `Authorization: Bearer` or the `m_session_id` cookie).
/// A repository's revisions are its hub branches: `main`, and `master` for the same commit, ModelScope's default.
extension MockHub {
    func modelScope(_ parts: [String], query: [String: String], authorization: String?, cookie: String?, range: String?, head: Bool) -> Response {
        // api / v1 / models|datasets / owner / name [/ repo [/ files]]
        guard parts.count >= 5, parts[2] == "models" || parts[2] == "datasets" else { return Self.modelScopeError(.notFound, "no such API") }
        let key = "\(parts[2])/\(parts[3])/\(parts[4])"
        guard let repo = lock.withLock({ repos[key] }) else { return Self.modelScopeError(.notFound, "model \(parts[3])/\(parts[4]) not exists") }
        let sessionToken = cookie?.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("m_session_id=") }.map { String($0.dropFirst("m_session_id=".count)) }
        if repo.isPrivate && authorization != "Bearer \(token)" && sessionToken != token {
            return Self.modelScopeError(.unauthorized, "no permission to access \(repo.id)")
        }
        let revision = query["Revision"] ?? "master"
        guard commit(of: repo, revision == "master" ? "main" : revision) != nil || repo.branches[revision] != nil else {
            return Self.modelScopeError(.notFound, "revision \(revision) not found")
        }
        if parts.count == 5 {
            return Self.modelScopeData("{\"Id\":1,\"Name\":\(Self.quoted(parts[4])),\"Path\":\(Self.quoted(parts[3])),\"Revision\":\"master\",\"Private\":\(repo.isPrivate)}")
        }
        if parts.count == 7, parts[5] == "repo", parts[6] == "files" {
            var entries: [String] = []
            let folders = Set(repo.files.flatMap { file in
                let pieces = file.path.split(separator: "/").dropLast()
                return pieces.indices.map { pieces[...$0].joined(separator: "/") }
            })
            for folder in folders.sorted() {
                entries.append("{\"Name\":\(Self.quoted(String(folder.split(separator: "/").last ?? ""))),\"Path\":\(Self.quoted(folder)),\"Type\":\"tree\",\"Size\":0}")
            }
            for file in repo.files {
                entries.append("{\"Name\":\(Self.quoted(String(file.path.split(separator: "/").last ?? ""))),\"Path\":\(Self.quoted(file.path)),"
                    + "\"Type\":\"blob\",\"Size\":\(file.bytes.count),\"Sha256\":\"\(file.sha256)\",\"Revision\":\(Self.quoted(revision)),\"IsLFS\":\(file.lfs)}")
            }
            return Self.modelScopeData("{\"Files\":[" + entries.joined(separator: ",") + "]}")
        }
        guard parts.count == 6, parts[5] == "repo", let path = query["FilePath"] else { return Self.modelScopeError(.notFound, "no such API") }
        guard let file = repo.files.first(where: { $0.path == path }) else { return Self.modelScopeError(.notFound, "file \(path) not found") }
        if file.lfs {
            return Response(status: .found, headers: [.location: "http://localhost:\(port)/lfs-storage/\(file.sha256)", .contentLength: "0"])
        }
        let bytes = served(file)
        var start = 0
        if let range, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") { start = min(from, bytes.count) }
        var headers: HTTPFields = [.acceptRanges: "bytes", .contentType: "application/octet-stream", .contentLength: "\(bytes.count - start)"]
        if start > 0 { headers[.contentRange] = "bytes \(start)-\(bytes.count - 1)/\(bytes.count)" }
        let status: HTTPResponse.Status = start > 0 ? .partialContent : .ok
        if head { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes[start...])))
    }

    static func modelScopeData(_ json: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: "{\"Code\":200,\"Data\":\(json),\"Message\":\"success\",\"RequestId\":\"mock\",\"Success\":true}")))
    }

    static func modelScopeError(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: "{\"Code\":\(status.code),\"Message\":\(quoted(message)),\"RequestId\":\"mock\",\"Success\":false}")))
    }
}
