import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// A row of `provider_tokens`: a provider's token for a card, encrypted.
enum ProviderTokenRecord {
    static let columns = "card_token, provider, key_version, nonce, ciphertext, created_at"
    static let find = "SELECT \(columns) FROM provider_tokens WHERE card_token = ? AND provider = ?"
    static let notUnderVersion = "SELECT \(columns) FROM provider_tokens WHERE key_version <> ? LIMIT ?"
    static let upsert = "INSERT OR REPLACE INTO provider_tokens (\(columns)) VALUES (?, ?, ?, ?, ?, ?)"

    static func token(_ row: Row) throws -> SealedProviderToken {
        guard let card = CardToken(row[0] as String) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed row in provider_tokens")
        }
        return SealedProviderToken(card: card, provider: row[1], keyVersion: row[2],
                                   box: SealedBox(nonce: [UInt8](row[3] as Data), ciphertext: [UInt8](row[4] as Data)),
                                   createdAt: StoredDate.date(row[5]))
    }

    static func arguments(_ t: SealedProviderToken) -> StatementArguments {
        [t.card.rawValue, t.provider, t.keyVersion, Data(t.box.nonce), Data(t.box.ciphertext), StoredDate.millis(t.createdAt)]
    }
}
