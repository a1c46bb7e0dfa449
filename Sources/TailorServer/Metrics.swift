import Foundation

/// The server's counters and histograms, written in Prometheus' text format (names as vLLM's,
/// under `tailor:`).
public final class Metrics: @unchecked Sendable {
    /// A cumulative histogram with fixed upper bounds (seconds).
    struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum = 0.0
        var count = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        mutating func observe(_ value: Double) {
            for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    static let latencyBounds = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    private let lock = NSLock()
    private var responses: [Int: Int] = [:]
    private var finished: [String: Int] = [:]
    private var cancelledRequests = 0
    private var promptTokens = 0
    private var generationTokens = 0
    private var timeToFirstToken = Histogram(bounds: latencyBounds)
    private var latency = Histogram(bounds: latencyBounds)
    private let started = monotonic()

    public init() {}

    static func monotonic() -> Double { ProcessInfo.processInfo.systemUptime }

    /// One HTTP answer with `status`.
    func response(status: Int) { lock.withLock { responses[status, default: 0] += 1 } }

    /// A streamed request whose client went away before its end.
    func cancelled() { lock.withLock { cancelledRequests += 1 } }

    /// One generation request done: its tokens, time to first token and whole latency (seconds).
    func request(finish: String, promptTokens prompt: Int, generationTokens generated: Int, ttft: Double?, latency seconds: Double) {
        lock.withLock {
            finished[finish, default: 0] += 1
            promptTokens += prompt
            generationTokens += generated
            if let ttft { timeToFirstToken.observe(ttft) }
            latency.observe(seconds)
        }
    }

    /// The text GET /metrics answers; `waiting` and `running` are the engine's gauges now.
    func prometheusText(waiting: Int, running: Int, prefixCache: (queries: Int, hits: Int) = (0, 0)) -> String {
        lock.withLock {
            var lines: [String] = []
            func metric(_ name: String, _ type: String, _ help: String) {
                lines.append("# HELP tailor:\(name) \(help)")
                lines.append("# TYPE tailor:\(name) \(type)")
            }
            metric("num_requests_running", "gauge", "Rows in the running batch.")
            lines.append("tailor:num_requests_running \(running)")
            metric("num_requests_waiting", "gauge", "Rows waiting for a batch slot (queue depth).")
            lines.append("tailor:num_requests_waiting \(waiting)")
            metric("http_responses_total", "counter", "HTTP responses by status.")
            for status in responses.keys.sorted() { lines.append("tailor:http_responses_total{status=\"\(status)\"} \(responses[status] ?? 0)") }
            metric("request_success_total", "counter", "Generation requests finished, by finish reason.")
            for reason in finished.keys.sorted() { lines.append("tailor:request_success_total{finished_reason=\"\(reason)\"} \(finished[reason] ?? 0)") }
            metric("request_cancelled_total", "counter", "Requests (streamed or not) whose client went away before the end (their rows left the queue or the batch at once).")
            lines.append("tailor:request_cancelled_total \(cancelledRequests)")
            metric("prompt_tokens_total", "counter", "Prompt tokens processed.")
            lines.append("tailor:prompt_tokens_total \(promptTokens)")
            metric("prefix_cache_queries_total", "counter", "Prompt tokens looked up in the slots' kept keys and values.")
            lines.append("tailor:prefix_cache_queries_total \(prefixCache.queries)")
            metric("prefix_cache_hits_total", "counter", "Prompt tokens whose keys and values a slot already held (not prefilled again).")
            lines.append("tailor:prefix_cache_hits_total \(prefixCache.hits)")
            metric("generation_tokens_total", "counter", "Tokens generated.")
            lines.append("tailor:generation_tokens_total \(generationTokens)")
            let uptime = max(Self.monotonic() - started, 1e-9)
            metric("generation_tokens_per_second", "gauge", "Tokens generated per second of uptime, on average.")
            lines.append("tailor:generation_tokens_per_second \(Double(generationTokens) / uptime)")
            for (name, help, h) in [("time_to_first_token_seconds", "Time from receiving a request to its first token.", timeToFirstToken),
                                    ("e2e_request_latency_seconds", "Time from receiving a request to its last token.", latency)] {
                metric(name, "histogram", help)
                for (bound, count) in zip(h.bounds, h.counts) { lines.append("tailor:\(name)_bucket{le=\"\(bound)\"} \(count)") }
                lines.append("tailor:\(name)_bucket{le=\"+Inf\"} \(h.count)")
                lines.append("tailor:\(name)_sum \(h.sum)")
                lines.append("tailor:\(name)_count \(h.count)")
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
