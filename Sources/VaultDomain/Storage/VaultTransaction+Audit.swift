import Foundation

extension VaultTransaction {
    /// Appends `event` to the hash-chained audit log inside this transaction. If the insert
    /// fails, the whole transaction fails with it: no audited action happens unaudited.
    @discardableResult
    public func appendAudit(_ event: AuditEvent, chain: AuditChain, at date: Date) throws -> AuditEntry {
        let entry = chain.seal(event, after: try lastAuditEntry(), at: date)
        try insert(entry)
        return entry
    }
}
