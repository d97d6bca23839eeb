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
        var message = [UInt8]()
        message.reserveCapacity(256)
        func field(_ text: String?) {
            guard let text else { message.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF]); return }
            let bytes = Array(text.utf8)
            let n = UInt32(bytes.count)
            message.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
            message.append(contentsOf: bytes)
        }
        message.append(UInt8(previousHash.count))
        message.append(contentsOf: previousHash)
        field(String(entry.seq)); field(entry.at); field(entry.client); field(entry.action)
        field(entry.subject); field(entry.outcome); field(entry.requestID); field(entry.source)
        // Rows without a tenant (all rows written before tenants existed) hash as they did.
        if let tenant = entry.tenant { field(tenant) }
        return KeyedHash.hash(message, key: key, length: 32)
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

/// The result of checking (part of) the chain.
public enum AuditVerification: Sendable, Equatable {
    case intact(rows: Int)
    case broken(seq: Int64, reason: String)
}
