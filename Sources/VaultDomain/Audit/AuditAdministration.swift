import Foundation

/// `cardvault audit verify|tail`.
public struct AuditAdministration: Sendable {
    public let store: any VaultStore
    public let keys: KeyRing

    public init(store: any VaultStore, keys: KeyRing) {
        self.store = store
        self.keys = keys
    }

    /// Checks the whole chain in pages; reports the first break.
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
        return .intact(rows: rows)
    }

    public func tail(limit: Int) async throws -> [AuditEntry] {
        try await store.read { try $0.latestAuditEntries(limit: max(1, min(limit, 10_000))) }
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
