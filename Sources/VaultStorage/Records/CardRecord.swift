import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// A row of `cards`: token, fingerprint, key version, nonce and ciphertext.
struct CardRecord: FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "cards"

    enum Columns {
        static let token = Column("token")
        static let fingerprint = Column("fingerprint")
        static let keyVersion = Column("key_version")
        static let nonce = Column("nonce")
        static let ciphertext = Column("ciphertext")
        static let createdAt = Column("created_at")
        static let updatedAt = Column("updated_at")
    }

    var card: SealedCard

    init(_ card: SealedCard) { self.card = card }

    init(row: Row) throws {
        guard let token = CardToken(row[Columns.token] as String) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed token in cards")
        }
        card = SealedCard(
            token: token,
            fingerprint: CardFingerprint(stored: row[Columns.fingerprint]),
            keyVersion: row[Columns.keyVersion],
            box: SealedBox(nonce: [UInt8](row[Columns.nonce] as Data), ciphertext: [UInt8](row[Columns.ciphertext] as Data)),
            createdAt: row[Columns.createdAt],
            updatedAt: row[Columns.updatedAt])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.token] = card.token.rawValue
        container[Columns.fingerprint] = card.fingerprint.rawValue
        container[Columns.keyVersion] = card.keyVersion
        container[Columns.nonce] = Data(card.box.nonce)
        container[Columns.ciphertext] = Data(card.box.ciphertext)
        container[Columns.createdAt] = card.createdAt
        container[Columns.updatedAt] = card.updatedAt
    }
}
