import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `HTTPTransport` on Foundation's URLSession (libcurl on Linux): no package beyond the toolchain.
public struct URLSessionTransport: HTTPTransport {
    /// Seconds without a byte before a request fails (and is retried).
    public var idleTimeout: Double

    public init(idleTimeout: Double = 60) { self.idleTimeout = idleTimeout }

    public func head(_ url: URL, headers: [String: String]) async throws -> HTTPHead {
        try await run(url, method: "HEAD", headers: headers, followRedirects: false, onHead: { _ in }, body: { _ in }).0
    }

    public func get(_ url: URL, headers: [String: String], onHead: @escaping @Sendable (HTTPHead) throws -> Void,
                    body: @escaping @Sendable (Data) throws -> Void) async throws -> (HTTPHead, Data) {
        try await run(url, method: "GET", headers: headers, followRedirects: true, onHead: onHead, body: body)
    }

    private func run(_ url: URL, method: String, headers: [String: String], followRedirects: Bool,
                     onHead: @escaping @Sendable (HTTPHead) throws -> Void, body: @escaping @Sendable (Data) throws -> Void) async throws -> (HTTPHead, Data) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        return try await withCheckedThrowingContinuation { continuation in
            let delegate = TransferDelegate(url: url, followRedirects: followRedirects, onHead: onHead, body: body, continuation: continuation)
            let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
            session.dataTask(with: request).resume()
            session.finishTasksAndInvalidate()
        }
    }
}

/// One request's callbacks: hands 2xx bodies on as they arrive, keeps other bodies for the error message.
private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let url: URL
    let followRedirects: Bool
    let onHead: @Sendable (HTTPHead) throws -> Void
    let body: @Sendable (Data) throws -> Void
    var continuation: CheckedContinuation<(HTTPHead, Data), Error>?
    var head: HTTPHead?
    var collected = Data()
    var failure: Error?

    init(url: URL, followRedirects: Bool, onHead: @escaping @Sendable (HTTPHead) throws -> Void, body: @escaping @Sendable (Data) throws -> Void,
         continuation: CheckedContinuation<(HTTPHead, Data), Error>) {
        self.url = url
        self.followRedirects = followRedirects
        self.onHead = onHead
        self.body = body
        self.continuation = continuation
    }

    static func head(of response: URLResponse?, fallback: URL) -> HTTPHead? {
        guard let http = response as? HTTPURLResponse else { return nil }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers["\(name)".lowercased()] = "\(value)" }
        return HTTPHead(status: http.statusCode, headers: headers, url: http.url ?? fallback)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        guard followRedirects else {
            head = Self.head(of: response, fallback: url)
            completionHandler(nil)
            return
        }
        var next = request
        if next.url?.host != task.originalRequest?.url?.host {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
            next.setValue(nil, forHTTPHeaderField: "Cookie")  // ModelScope's m_session_id
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let received = Self.head(of: response, fallback: url) else { return completionHandler(.allow) }
        head = received
        if (200..<300).contains(received.status) {
            do { try onHead(received) } catch {
                failure = error
                return completionHandler(.cancel)
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        if let head, (200..<300).contains(head.status) {
            do { try body(data) } catch {
                failure = error
                dataTask.cancel()
            }
        } else if collected.count < 65536 {
            collected.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let continuation else { return }
        self.continuation = nil
        if let failure { return continuation.resume(throwing: failure) }
        if let head = head ?? Self.head(of: task.response, fallback: url) {
            // A redirect we chose not to follow completes with its own head, error or not.
            if error == nil || (!followRedirects && (300..<400).contains(head.status)) { return continuation.resume(returning: (head, collected)) }
        }
        let message = error.map { ($0 as NSError).localizedDescription } ?? "no response"
        continuation.resume(throwing: HTTPTransportError(url: url.absoluteString, message: message))
    }
}
