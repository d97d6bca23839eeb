import Foundation
import VaultCrypto

/// An audit row as one writer connection appended it on PostgreSQL, where the log is sequenced
/// after commit: each connection writes into its own lane (a random id, positions 1, 2, 3, ...
/// and a keyed hash chain of its own), sharing nothing with other writers but an insert. The
/// sequencer later gives each committed row its place in the one log (`entry.seq`, `entry.hash`);
/// the lane chain keeps proving the row before and after that: a queued row changed or removed
/// breaks its lane.
public struct AuditLaneEntry: Sendable, Equatable {
    /// The row's fields; `seq` is 0 and `hash` empty while it waits to be sequenced.
    public var entry: AuditEntry
    public var lane: [UInt8]
    public var laneSeq: Int64
    /// Keyed hash of the lane's previous hash and this row's fields and position.
    public var laneHash: [UInt8]

    public init(entry: AuditEntry, lane: [UInt8], laneSeq: Int64, laneHash: [UInt8]) {
        self.entry = entry
        self.lane = lane
        self.laneSeq = laneSeq
        self.laneHash = laneHash
    }

    /// Sequenced: it has its place in the log.
    public var isSequenced: Bool { entry.seq > 0 }

    /// The lane and position in text, as `audit verify` names a row not yet sequenced.
    public var position: String { "lane \(Hex.encode(lane).prefix(12)) row \(laneSeq)" }
}
