/// One record of a TensorBoard event file: tensorflow's `Event` message, restricted to what Tailor writes.
///
///     message Event   { double wall_time = 1; int64 step = 2;
///                       oneof what { string file_version = 3; Summary summary = 5; SessionLog session_log = 7; } }
///     message SessionLog { SessionStatus status = 1; }   // START = 1
///     message Summary { repeated Value value = 1; }
///     message Value   { string tag = 1; float simple_value = 2; }
///
/// `simple_value` scalars are what `EventAccumulator.Scalars(tag)` returns (as tensorboard's own
/// `SummaryWriter.add_scalar` writes them).
public struct TensorBoardEvent: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        /// The first record of every file: `"brain.Event:2"`.
        case fileVersion(String)
        /// Scalars `(tag, value)`, one `Summary.Value` each.
        case scalars([ScalarValue])
        /// `SessionLog` START at `step`: a run resumed here. TensorBoard's EventAccumulator then drops what
        /// earlier files logged at this step and after (what the stopped process logged again).
        case sessionStart
    }

    public struct ScalarValue: Sendable, Equatable {
        public var tag: String
        public var value: Float
        public init(tag: String, value: Float) {
            self.tag = tag
            self.value = value
        }
    }

    /// Seconds since 1970 (UTC).
    public var wallTime: Double
    public var step: Int64
    public var content: Content

    public init(wallTime: Double, step: Int64, content: Content) {
        self.wallTime = wallTime
        self.step = step
        self.content = content
    }

    /// The file-version record that opens every event file.
    public static func fileVersion(wallTime: Double) -> TensorBoardEvent {
        TensorBoardEvent(wallTime: wallTime, step: 0, content: .fileVersion("brain.Event:2"))
    }

    /// The protobuf bytes of the message. proto3 omits plain fields holding their
    /// default value (`wall_time` 0, `step` 0, empty `tag`); `file_version`, `summary` and `simple_value` sit in
    /// oneofs and are always written.
    public func serialized() -> [UInt8] {
        var event = ProtobufEncoder()
        if wallTime.bitPattern != 0 { event.double(1, wallTime) }
        if step != 0 { event.int64(2, step) }
        switch content {
        case let .fileVersion(version):
            event.string(3, version)
        case let .scalars(values):
            var summary = ProtobufEncoder()
            for value in values {
                var entry = ProtobufEncoder()
                if !value.tag.isEmpty { entry.string(1, value.tag) }
                entry.float(2, value.value)  // in a oneof: written even when 0
                summary.bytes(1, entry.bytes)
            }
            event.bytes(5, summary.bytes)
        case .sessionStart:
            var log = ProtobufEncoder()
            log.int64(1, 1)  // status START
            event.bytes(7, log.bytes)
        }
        return event.bytes
    }
}

/// TFRecord framing: `uint64 length, uint32 masked_crc32c(length), data, uint32 masked_crc32c(data)`,
/// all little-endian.
public enum TFRecord {
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var record: [UInt8] = []
        record.reserveCapacity(data.count + 16)
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Array($0) }  // allowed: a count widens to UInt64
        record += length
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(length)).littleEndian) { record += $0 }
        record += data
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(data)).littleEndian) { record += $0 }
        return record
    }
}
