import Foundation
import GRDB
import VaultDomain

/// A row of `audit_log`, through cached statements (one is appended per request).
enum AuditRecord {
    static let columns = "seq, at, client, action, subject, outcome, request_id, source, hash, tenant"
    static let last = "SELECT \(columns) FROM audit_log ORDER BY seq DESC LIMIT 1"
    static let after = "SELECT \(columns) FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
    static let latest = "SELECT \(columns) FROM audit_log ORDER BY seq DESC LIMIT ?"
    static let insert = "INSERT INTO audit_log (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

    static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(
            seq: row[0], at: row[1], client: row[2], action: row[3], subject: row[4], outcome: row[5],
            requestID: row[6], source: row[7], hash: [UInt8](row[8] as Data), tenant: row[9])
    }

    static func arguments(_ e: AuditEntry) -> StatementArguments {
        [e.seq, e.at, e.client, e.action, e.subject, e.outcome, e.requestID, e.source, Data(e.hash), e.tenant]
    }
}
