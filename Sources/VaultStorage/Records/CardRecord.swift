import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// A row of `cards`: token, fingerprint, key version, nonce and ciphertext. Read and written
/// through cached statements: this is the hot path of every card request.
enum CardRecord {
    static let columns = "token, fingerprint, key_version, nonce, ciphertext, created_at, updated_at, retain_until, tenant"
    static let byToken = "SELECT \(columns) FROM cards WHERE token = ? AND tenant = ?"
    static let byFingerprint = "SELECT \(columns) FROM cards WHERE fingerprint = ? AND tenant = ?"
    static let notUnderVersion = "SELECT \(columns) FROM cards WHERE key_version <> ? LIMIT ?"
    static let byTenantAfter = "SELECT \(columns) FROM cards WHERE tenant = ? AND token > ? ORDER BY token LIMIT ?"
    static let insert = "INSERT INTO cards (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    static let expiring = "SELECT token, tenant FROM cards WHERE retain_until <= ? ORDER BY retain_until LIMIT ?"
    static let delete = "DELETE FROM cards WHERE token = ? AND tenant = ?"
    // The tenant never changes: it is part of the key in the WHERE clause, not of the SET list.
    static let update =
        "UPDATE cards SET fingerprint = ?, key_version = ?, nonce = ?, ciphertext = ?, updated_at = ?, retain_until = ? WHERE token = ? AND tenant = ?"

    static func card(_ row: Row) throws -> SealedCard {
        guard let token = CardToken(row[0] as String) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed row in cards")
        }
        return SealedCard(
            token: token, tenant: Tenant(stored: row[8]), fingerprint: CardFingerprint(stored: row[1]), keyVersion: row[2],
            box: SealedBox(nonce: [UInt8](row[3] as Data), ciphertext: [UInt8](row[4] as Data)),
            createdAt: StoredDate.date(row[5]), updatedAt: StoredDate.date(row[6]), retainUntil: (row[7] as Int64?).map(StoredDate.date))
    }

    static func insertArguments(_ card: SealedCard) -> StatementArguments {
        [
            card.token.rawValue, card.fingerprint.rawValue, card.keyVersion, Data(card.box.nonce), Data(card.box.ciphertext),
            StoredDate.millis(card.createdAt), StoredDate.millis(card.updatedAt), card.retainUntil.map(StoredDate.millis), card.tenant.rawValue,
        ]
    }

    static func updateArguments(_ card: SealedCard) -> StatementArguments {
        [
            card.fingerprint.rawValue, card.keyVersion, Data(card.box.nonce), Data(card.box.ciphertext),
            StoredDate.millis(card.updatedAt), card.retainUntil.map(StoredDate.millis), card.token.rawValue, card.tenant.rawValue,
        ]
    }
}
