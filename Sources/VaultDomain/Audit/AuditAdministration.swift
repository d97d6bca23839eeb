import Foundation
import VaultCrypto

/// `cardvault audit verify|tail`.
public struct AuditAdministration: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    /// Checks the whole chain in pages, then (where rows are sequenced after commit) every
    /// lane, sequenced rows and queued ones; reports the first break. `rows` counts the log's
    /// sequenced rows; `queued()` says what still waits.
    public func verify(actor: AuditActor) async throws -> AuditVerification {
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        var previous: AuditEntry? = nil
        var rows = 0
        while true {
            let after = previous?.seq ?? 0
            let page = try await store.read { try $0.auditEntries(after: after, limit: 5_000) }
            if page.isEmpty { break }
            switch chain.verify(page, after: previous) {
            case .intact(let n): rows += n
            case .broken(let seq, let reason): return .broken(seq: seq, reason: reason)
            }
            previous = page.last
        }
        guard store.sequencesAuditAfterCommit else { return .intact(rows: rows) }
        var last: AuditLaneEntry? = nil
        while true {
            let after = last.map { (lane: $0.lane, laneSeq: $0.laneSeq) }
            let page = try await store.read { try $0.auditLaneEntries(after: after, limit: 5_000) }
            if page.isEmpty { break }
            if case .broken(let row, let reason) = chain.verifyLanes(page, after: last) {
                return .broken(seq: row.entry.seq, reason: row.isSequenced ? reason : "\(row.position) (not yet sequenced): \(reason)")
            }
            last = page.last
        }
        return .intact(rows: rows)
    }

    /// Rows committed but not yet given their place in the log: how many, and the oldest few.
    public func queued(limit: Int = 10) async throws -> (count: Int, oldest: [AuditLaneEntry]) {
        guard store.sequencesAuditAfterCommit else { return (0, []) }
        return try await store.read { try $0.queuedAuditEntries(limit: limit) }
    }

    /// Sequences one batch of committed rows (see `VaultStore.sequenceAudit`); nil while another
    /// instance does.
    public func sequence(limit: Int = 1_000) async throws -> Int? {
        guard store.sequencesAuditAfterCommit else { return 0 }
        return try await store.sequenceAudit(chain: AuditChain(key: try keys.derivedKeys().audit), limit: limit)
    }

    /// Sequences until nothing committed waits (another instance sequencing counts too), for at
    /// most `timeout`: before a command shows or anchors the log, and before an offline
    /// command exits. Answers how many rows still wait.
    @discardableResult
    public func settle(timeout: Duration = .seconds(10)) async throws -> Int {
        guard store.sequencesAuditAfterCommit else { return 0 }
        let deadline = ContinuousClock.now + timeout
        while true {
            let moved = try await sequence()
            if let moved, moved > 0, ContinuousClock.now < deadline { continue }
            let waiting = try await queued(limit: 0).count
            if waiting == 0 || ContinuousClock.now >= deadline { return waiting }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Holds the database to each checkpoint, in order: the signature must be the vault's, and
    /// the row it names must still be there with the hash it names. Reports the first gap.
    ///
    /// `until`: the database was restored to that point in time. Checkpoints signed up to then
    /// must hold as always; later ones may name rows of the history the restore cut off, and
    /// those that do not hold are reported as that cut tail instead of a break.
    public func verify(anchors: [AuditCheckpoint], until: Date? = nil) async throws -> AuditAnchorVerification {
        let publicKey = try keys.derivedKeys().auditSigningKey().publicKey
        let cut = until.map(Timestamp.format)
        let newest = try await store.read { try $0.latestAuditEntries(limit: 1) }.first?.seq ?? 0
        var held = 0
        var tail: [AuditCheckpoint] = []
        for checkpoint in anchors {
            guard checkpoint.isSigned(by: publicKey) else {
                return .init(
                    held: held, broken: .init(seq: checkpoint.seq, reason: "the checkpoint of \(checkpoint.at) is not signed by this vault's audit key"),
                    cutTail: nil)
            }
            let row = try await store.read { try $0.auditEntries(after: checkpoint.seq - 1, limit: 1) }.first
            let reason: String
            if let row, row.seq == checkpoint.seq {
                if Hex.encode(row.hash) == checkpoint.head {
                    held += 1
                    continue
                }
                reason = "row \(checkpoint.seq) differs from its checkpoint of \(checkpoint.at): rewritten or replaced"
            } else {
                reason =
                    "row \(checkpoint.seq), anchored at \(checkpoint.at), is missing (the newest row is \(newest)): "
                    + "rows were removed, or the database is an older copy"
                    + (cut == nil ? " (restored to a point in time? --until that time names the later rows as the cut tail)" : "")
            }
            // Timestamps share one fixed-width form, so text order is time order.
            if let cut, checkpoint.at > cut {
                tail.append(checkpoint)
                continue
            }
            return .init(held: held, broken: .init(seq: checkpoint.seq, reason: reason), cutTail: nil)
        }
        let cutTail = tail.first.map { first in
            AuditAnchorVerification.CutTail(
                checkpoints: tail.count, firstSeq: tail.map(\.seq).min() ?? first.seq, lastSeq: tail.map(\.seq).max() ?? first.seq,
                firstAt: first.at, lastAt: tail[tail.count - 1].at)
        }
        return .init(held: held, broken: nil, cutTail: cutTail)
    }

    /// The newest row and a checkpoint of it signed now; nil while the log is empty.
    public func checkpoint(at date: Date) async throws -> AuditCheckpoint? {
        let key = try keys.derivedKeys().auditSigningKey()
        guard let newest = try await store.read({ try $0.latestAuditEntries(limit: 1) }).first else { return nil }
        return AuditCheckpoint(entry: newest, at: date, key: key)
    }

    /// The newest rows of the log, after sequencing what is committed.
    public func tail(limit: Int) async throws -> [AuditEntry] {
        try await settle()
        return try await store.read { try $0.latestAuditEntries(limit: max(1, min(limit, 10_000))) }
    }

    /// Audits an admin action that has no transaction of its own (verify, tail).
    public func record(_ action: String, subject: String?, outcome: AuditOutcome, actor: AuditActor) async throws {
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = Date()
        try await store.write { tx in
            _ = try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: outcome, actor: actor), chain: chain, at: now)
        }
    }
}
