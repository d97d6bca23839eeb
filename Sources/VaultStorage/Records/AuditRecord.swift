import Foundation
import GRDB
import VaultDomain

/// A row of `audit_log`.
struct AuditRecord: FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "audit_log"

    enum Columns {
        static let seq = Column("seq")
        static let at = Column("at")
        static let client = Column("client")
        static let action = Column("action")
        static let subject = Column("subject")
        static let outcome = Column("outcome")
        static let requestID = Column("request_id")
        static let source = Column("source")
        static let hash = Column("hash")
    }

    var entry: AuditEntry

    init(_ entry: AuditEntry) { self.entry = entry }

    init(row: Row) throws {
        entry = AuditEntry(
            seq: row[Columns.seq], at: row[Columns.at], client: row[Columns.client], action: row[Columns.action],
            subject: row[Columns.subject], outcome: row[Columns.outcome], requestID: row[Columns.requestID],
            source: row[Columns.source], hash: [UInt8](row[Columns.hash] as Data))
    }

    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.seq] = entry.seq
        container[Columns.at] = entry.at
        container[Columns.client] = entry.client
        container[Columns.action] = entry.action
        container[Columns.subject] = entry.subject
        container[Columns.outcome] = entry.outcome
        container[Columns.requestID] = entry.requestID
        container[Columns.source] = entry.source
        container[Columns.hash] = Data(entry.hash)
    }
}
