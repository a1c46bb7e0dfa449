import Synchronization

/// A request to stop training, safe to make from any thread (a signal handler's queue): the
/// trainer looks at it after each step, saves a checkpoint, and throws
/// `TrainingError.interrupted`.
///
///     let stop = StopRequest()
///     trainer.stopRequest = stop
///     // elsewhere: if stop.request() { exit(130) }  // a second request: stop at once
public final class StopRequest: Sendable {
    private let requests = Atomic<Int>(0)

    public init() {}

    /// Asks the run to stop after the current step. Returns true when a stop had already been
    /// asked for (the caller may then stop at once).
    @discardableResult
    public func request() -> Bool {
        requests.wrappingAdd(1, ordering: .relaxed).oldValue > 0
    }

    /// Whether a stop was asked for.
    public var isRequested: Bool { requests.load(ordering: .relaxed) > 0 }
}
