import Foundation

extension HubClient {
    /// GETs `location` into `partial`, continuing what is there with `Range: bytes=N-` (starting over when the server
    /// ignores the range or the file is longer than `size`), retrying dropped connections and 5xx answers. The token
    /// goes to the hub only, never to another host a redirect points at. A full disk deletes the partial file;
    /// any other failure keeps it to resume.
    func fetch(_ location: URL, to partial: URL, size expected: Int64, path: String, repo: RepoID, revision: String,
               extraHeaders: [String: String] = [:], counter: ByteCounter) async throws {
        var headers = self.headers.merging(extraHeaders) { _, extra in extra }
        if location.host != URL(string: settings.endpoint)?.host {
            headers["Authorization"] = nil
            headers["Cookie"] = nil
        }
        do {
            var first = true
            let head = try await retrying(location) { () async throws -> HTTPHead in
                let writer = try BlobWriter(partial)
                defer { writer.close() }
                if writer.size > expected { try writer.restart() }
                if writer.size == expected && expected > 0 { return HTTPHead(status: 206, headers: [:], url: location) }
                var request = headers
                let offset = writer.size
                if offset > 0 { request["Range"] = "bytes=\(offset)-" }
                if first || offset > 0 { events(.fileStarted(path: path, size: expected, resumedAt: offset)) }
                first = false
                let (head, body) = try await transport.get(location, headers: request, onHead: { head in
                    if offset > 0 && head.status == 200 { try writer.restart() }
                    if head.status == 206, let range = head["content-range"], !range.hasPrefix("bytes \(offset)-") {
                        throw HubError.badResponse(url: location.absoluteString, problem: "asked for bytes from \(offset), got Content-Range \(range)")
                    }
                }, body: { data in
                    try writer.write(data)
                    events(.progress(received: counter.add(Int64(data.count))))  // allowed: a count widens
                })
                if !(200..<300).contains(head.status) && !Self.isRetryable(head.status) {
                    try check(head, body: body, url: location, repo: repo, revision: revision, file: path)
                }
                return head
            }
            if !(200..<300).contains(head.status) {
                try check(head, body: Data(), url: location, repo: repo, revision: revision, file: path)
            }
        } catch {
            if case HubError.diskFull = error { try? FileManager.default.removeItem(at: partial) }
            throw error
        }
    }
}
