import Foundation
import Hummingbird
import NIOCore

/// The request context of `tailor serve`'s routes: Hummingbird's basic one plus the request's
/// connection, so a request can learn that its client went away before its answer is written.
public struct ServeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Watches one connection for its client going away: the client's end of the stream closing (a
/// FIN; Hummingbird allows half-closed connections, so this is the first sign) or the connection
/// closing. Sits first in the connection's pipeline and passes everything on unchanged.
final class ConnectionWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let lock = NSLock()
    private var gone = false
    private var waiters: [Int: @Sendable () -> Void] = [:]
    private var nextToken = 0

    /// The watcher of `channel`, added to its pipeline by the first request that asks.
    static func of(_ channel: any Channel) async throws -> ConnectionWatcher {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            if let existing = try? pipeline.handler(type: ConnectionWatcher.self) { return existing }
            let watcher = ConnectionWatcher()
            try pipeline.addHandler(watcher, position: .first)
            return watcher
        }.get()
    }

    /// Calls `body` once when the client goes away, at once if it already has; `stop` with the
    /// returned token ends the watch (the answer was sent).
    func onGone(_ body: @escaping @Sendable () -> Void) -> Int {
        let (token, now): (Int, Bool) = lock.withLock {
            nextToken += 1
            if !gone { waiters[nextToken] = body }
            return (nextToken, gone)
        }
        if now { body() }
        return token
    }

    func stop(_ token: Int) { _ = lock.withLock { waiters.removeValue(forKey: token) } }

    private func markGone() {
        let called: [@Sendable () -> Void] = lock.withLock {
            gone = true
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for body in called { body() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone()
        context.fireChannelInactive()
    }
}
