/// A JSON object: its members in the order they were read or inserted, each key once.
///
/// Keys compare byte for byte. Building from members that repeat a key keeps the key's first place
/// and its last value, which is what Python's `dict` (and so `json.loads`) does. Lookups scan the
/// members, which suits the objects configs hold; read a large one (a vocabulary) by iterating.
public struct JSONObject: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    public private(set) var members: [Element]

    public init() { members = [] }

    /// `members` in order; a repeated key keeps its first place and its last value.
    public init(_ members: [(String, JSONValue)]) {
        var list = members.map { (key: $0.0, value: $0.1) }
        _ = JSONObject.mergeRepeatedKeys(&list)
        self.members = list
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// Members known to have distinct keys (the reader's, after it merged repeats).
    init(distinct members: [Element]) { self.members = members }

    public var startIndex: Int { members.startIndex }
    public var endIndex: Int { members.endIndex }
    public subscript(position: Int) -> Element { members[position] }

    public var keys: [String] { members.map(\.key) }

    /// The value of `key`. Setting a present key replaces its value in place; setting a new one
    /// appends it; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { members[$0].value } }
        set {
            switch (index(of: key), newValue) {
            case let (index?, value?): members[index].value = value
            case let (index?, nil): members.remove(at: index)
            case let (nil, value?): members.append((key, value))
            case (nil, nil): break
            }
        }
    }

    /// The position of `key` among the members.
    public func index(of key: String) -> Int? {
        members.firstIndex { $0.key.utf8.elementsEqual(key.utf8) }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members {
            ByteKey(member.key).hash(into: &hasher)
            hasher.combine(member.value)
        }
    }

    /// The index of the first member whose key an earlier member has, or nil.
    static func firstRepeat(in members: [Element]) -> Int? {
        guard members.count > 1 else { return nil }
        if members.count <= 12 {
            for j in 1..<members.count {
                for i in 0..<j where members[i].key.utf8.elementsEqual(members[j].key.utf8) { return j }
            }
            return nil
        }
        // Open addressing on FNV-1a of the UTF-8 bytes: a vocabulary of 150k keys is checked in a few
        // milliseconds (a Set<ByteKey> spends most of its time seeding Hasher). A slot holds the member's
        // index and 32 bits of its hash, so most probes touch only the table.
        var capacity = 16
        while capacity < 2 * members.count { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [UInt64](repeating: .max, count: capacity)
        for j in members.indices {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in members[j].key.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }  // allowed: UInt8 widens
            h ^= h >> 33  // FNV mixes only upwards: fold the high bits into the low ones the slot uses
            h &*= 0xff51_afd7_ed55_8ccd
            h ^= h >> 33
            let tag = h >> 32
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] != .max {
                let entry = slots[slot]
                // allowed: the low 32 bits hold an index this loop stored
                if entry >> 32 == tag && members[Int(entry & 0xFFFF_FFFF)].key.utf8.elementsEqual(members[j].key.utf8) { return j }
                slot = (slot + 1) & mask
            }
            slots[slot] = tag << 32 | UInt64(j)  // allowed: j is a non-negative index below 2³² (members held in memory)
        }
        return nil
    }

    /// Folds members with a repeated key into the first one, which takes the last value.
    /// Returns the index (in the original list) of the first member that repeated a key, or nil.
    static func mergeRepeatedKeys(_ members: inout [Element]) -> Int? {
        guard let first = firstRepeat(in: members) else { return nil }
        var position: [ByteKey: Int] = [:]
        var merged: [Element] = []
        for member in members {
            if let p = position[ByteKey(member.key)] {
                merged[p].value = member.value
            } else {
                position[ByteKey(member.key)] = merged.count
                merged.append(member)
            }
        }
        members = merged
        return first
    }
}
