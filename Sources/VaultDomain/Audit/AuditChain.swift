import Foundation
import VaultCrypto

/// Computes and checks the keyed hash chain of the audit log.
public struct AuditChain: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// The row that follows `previous` (nil for the first row).
    public func seal(_ event: AuditEvent, after previous: AuditEntry?, at date: Date) -> AuditEntry {
        var entry = AuditEntry(
            seq: (previous?.seq ?? 0) + 1, at: Self.timestamp(date), client: event.actor.client,
            action: event.action, subject: event.subject, outcome: event.outcome.rawValue,
            requestID: event.actor.requestID, source: event.actor.source, hash: [], tenant: event.actor.tenant)
        entry.hash = hash(entry, previousHash: previous?.hash ?? [])
        return entry
    }

    func hash(_ entry: AuditEntry, previousHash: [UInt8]) -> [UInt8] {
        var message = AuditMessage()
        message.bytes.append(UInt8(previousHash.count))
        message.bytes.append(contentsOf: previousHash)
        message.field(String(entry.seq))
        message.fields(of: entry)
        return KeyedHash.hash(message.bytes, key: key, length: 32)
    }

    /// The row a writer appends at `laneSeq` of its lane, after the lane's row `previous` (nil
    /// for the lane's first row): not yet in the log's order (`seq` 0), chained in its lane.
    public func seal(_ event: AuditEvent, lane: [UInt8], laneSeq: Int64, after previous: [UInt8]?, at date: Date) -> AuditLaneEntry {
        let entry = AuditEntry(
            seq: 0, at: Self.timestamp(date), client: event.actor.client, action: event.action, subject: event.subject,
            outcome: event.outcome.rawValue, requestID: event.actor.requestID, source: event.actor.source, hash: [], tenant: event.actor.tenant)
        return AuditLaneEntry(
            entry: entry, lane: lane, laneSeq: laneSeq, laneHash: laneHash(entry, lane: lane, laneSeq: laneSeq, previous: previous ?? []))
    }

    /// A lane row's hash: its own domain ("lane"), so it is never mistaken for a log row's.
    func laneHash(_ entry: AuditEntry, lane: [UInt8], laneSeq: Int64, previous: [UInt8]) -> [UInt8] {
        var message = AuditMessage()
        message.bytes.append(contentsOf: Array("cardvault.audit.lane.v1".utf8))
        message.bytes.append(UInt8(lane.count))
        message.bytes.append(contentsOf: lane)
        message.bytes.append(UInt8(previous.count))
        message.bytes.append(contentsOf: previous)
        message.field(String(laneSeq))
        message.fields(of: entry)
        return KeyedHash.hash(message.bytes, key: key, length: 32)
    }

    /// Gives a queued lane row its place in the log, after the log's row `previous`.
    public func sequence(_ row: AuditLaneEntry, after previous: AuditEntry?) -> AuditLaneEntry {
        var row = row
        row.entry.seq = (previous?.seq ?? 0) + 1
        row.entry.hash = hash(row.entry, previousHash: previous?.hash ?? [])
        return row
    }

    /// Walks lane rows ordered by (lane, position), each lane from its first row, and reports
    /// the first break: a lane that does not start at row 1, a gap, or a row whose lane hash is
    /// not the one its fields and predecessor give (changed before or after sequencing).
    public func verifyLanes(_ rows: some Sequence<AuditLaneEntry>, after previous: AuditLaneEntry?) -> AuditLaneVerification {
        var (lane, expected, previousHash) = (previous?.lane, (previous?.laneSeq ?? 0) + 1, previous?.laneHash ?? [])
        var checked = 0
        for row in rows {
            if row.lane != lane { (lane, expected, previousHash) = (row.lane, 1, []) }
            guard row.laneSeq == expected else {
                return .broken(
                    row,
                    reason: row.laneSeq > expected
                        ? "rows \(expected)...\(row.laneSeq - 1) of its lane are missing" : "row is out of order in its lane")
            }
            guard KeyedHash.equal(laneHash(row.entry, lane: row.lane, laneSeq: row.laneSeq, previous: previousHash), row.laneHash) else {
                return .broken(row, reason: "row was changed, or a row before it in its lane was changed or removed")
            }
            previousHash = row.laneHash
            expected += 1
            checked += 1
        }
        return .intact(rows: checked)
    }

    /// Walks rows in order and reports the first break.
    public func verify(_ entries: some Sequence<AuditEntry>, after previous: AuditEntry?) -> AuditVerification {
        var expectedSeq = (previous?.seq ?? 0) + 1
        var previousHash = previous?.hash ?? []
        var checked = 0
        for entry in entries {
            if entry.seq != expectedSeq {
                return .broken(
                    seq: entry.seq,
                    reason: entry.seq > expectedSeq
                        ? "rows \(expectedSeq)...\(entry.seq - 1) are missing" : "row is out of order")
            }
            guard KeyedHash.equal(hash(entry, previousHash: previousHash), entry.hash) else {
                return .broken(seq: entry.seq, reason: "row was changed, or a row before it was changed or removed")
            }
            previousHash = entry.hash
            expectedSeq += 1
            checked += 1
        }
        return .intact(rows: checked)
    }

    static func timestamp(_ date: Date) -> String {
        Timestamp.format(date)
    }
}

/// The result of checking lanes: the first broken row, or how many were checked.
public enum AuditLaneVerification: Sendable, Equatable {
    case intact(rows: Int)
    case broken(AuditLaneEntry, reason: String)
}

/// The result of checking (part of) the chain.
public enum AuditVerification: Sendable, Equatable {
    case intact(rows: Int)
    case broken(seq: Int64, reason: String)
}
