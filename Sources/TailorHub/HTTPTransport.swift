import Foundation

/// The status and headers of one HTTP response; header names lowercased.
public struct HTTPHead: Sendable {
    public var status: Int
    public var headers: [String: String]
    /// The URL that answered (after the redirects that were followed).
    public var url: URL

    public init(status: Int, headers: [String: String], url: URL) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.url = url
    }

    public subscript(name: String) -> String? { headers[name.lowercased()] }
}

/// What TailorHub needs of HTTP: a HEAD that does not follow redirects (the hub's metadata is on the 302 itself),
/// and a GET whose body arrives in pieces. Errors of the connection are thrown as `HTTPTransportError`.
public protocol HTTPTransport: Sendable {
    func head(_ url: URL, headers: [String: String]) async throws -> HTTPHead
    /// Follows redirects (dropping `Authorization` when the host changes). `body` sees each piece of a 2xx body;
    /// a non-2xx body is collected and returned as the second value.
    func get(_ url: URL, headers: [String: String], onHead: @escaping @Sendable (HTTPHead) throws -> Void,
             body: @escaping @Sendable (Data) throws -> Void) async throws -> (HTTPHead, Data)
}

/// The connection failed (refused, dropped mid-body, timed out): worth a retry.
public struct HTTPTransportError: Error, CustomStringConvertible {
    public var url: String
    public var message: String
    public var description: String { "\(url): \(message)" }
}
