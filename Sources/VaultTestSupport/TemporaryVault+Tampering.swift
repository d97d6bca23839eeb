import Foundation
import GRDB

extension TemporaryVault {
    /// Runs `sql` against the vault's database as a database writer without any key would (a
    /// DBA, an edited backup): straight to SQLite's file or PostgreSQL's database, around the
    /// vault. Statements are separated by `;`. Answers the first column of the last statement's rows
    /// (PostgreSQL) or of `sql`'s last statement (SQLite), one value per line.
    @discardableResult
    public func tamper(_ sql: String) throws -> String {
        if databasePath.hasPrefix("postgres") {
            return try PostgresCluster.shared.get().query(databasePath, sql)
        }
        let queue = try DatabaseQueue(path: databasePath)
        defer { try? queue.close() }
        return try queue.write { db in
            let statements = sql.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            for statement in statements.dropLast() { try db.execute(sql: statement) }
            guard let last = statements.last else { return "" }
            if last.uppercased().hasPrefix("SELECT") {
                return try String.fetchAll(db, sql: last).joined(separator: "\n")
            }
            try db.execute(sql: last)
            return ""
        }
    }
}
