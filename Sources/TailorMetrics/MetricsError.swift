/// Every error TailorMetrics throws. Messages name the file and line at fault and say what to do.
public enum MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// jieba's dictionary or HMM tables are not in the folder (it was never fetched, or is incomplete).
    case jiebaMissing(folder: String, file: String)
    /// A line of jieba's dict.txt or a finalseg table that does not read as jieba reads it.
    case jiebaMalformed(file: String, line: Int, reason: String)
    /// A metric name that is not one of `EvalMetric.allCases`.
    case unknownMetric(String)

    public var description: String {
        switch self {
        case let .jiebaMissing(folder, file):
            return "jieba's \(file) is not in \(folder): fetch jieba 0.42.1 (scripts/fetch_jieba.sh, or tailor eval fetches it with pip) or point TAILOR_JIEBA_DIR at a jieba package folder"
        case let .jiebaMalformed(file, line, reason):
            return "\(file):\(line): \(reason); fetch jieba 0.42.1 again (delete the folder and rerun scripts/fetch_jieba.sh)"
        case let .unknownMetric(name):
            return "unknown metric '\(name)'; known: \(EvalMetric.allCases.map(\.rawValue).joined(separator: ", "))"
        }
    }
}
