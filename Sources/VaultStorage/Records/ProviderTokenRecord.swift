import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// A row of `provider_tokens`: a provider's token for a card, encrypted.
enum ProviderTokenRecord {
    static let columns = "card_token, provider, key_version, nonce, ciphertext, created_at"
    /// Through the card row, so a token is found only within the card's tenant.
    static let find = """
        SELECT p.card_token, p.provider, p.key_version, p.nonce, p.ciphertext, p.created_at
        FROM provider_tokens p JOIN cards c ON c.token = p.card_token
        WHERE p.card_token = ? AND p.provider = ? AND c.tenant = ?
        """
    static let notUnderVersion = "SELECT \(columns) FROM provider_tokens WHERE key_version <> ? LIMIT ?"
    static let upsert = "INSERT OR REPLACE INTO provider_tokens (\(columns)) VALUES (?, ?, ?, ?, ?, ?)"

    static func token(_ row: Row) throws -> SealedProviderToken {
        guard let card = CardToken(row[0] as String) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed row in provider_tokens")
        }
        return SealedProviderToken(
            card: card, provider: row[1], keyVersion: row[2],
            box: SealedBox(nonce: [UInt8](row[3] as Data), ciphertext: [UInt8](row[4] as Data)),
            createdAt: StoredDate.date(row[5]))
    }

    static func arguments(_ t: SealedProviderToken) -> StatementArguments {
        [t.card.rawValue, t.provider, t.keyVersion, Data(t.box.nonce), Data(t.box.ciphertext), StoredDate.millis(t.createdAt)]
    }
}
