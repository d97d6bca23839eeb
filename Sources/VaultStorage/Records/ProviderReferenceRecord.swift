import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// A row of `provider_references`: a provider's reference to a saved card, encrypted, with its
/// keyed blind index and the masked details the provider reported (JSON).
enum ProviderReferenceRecord {
    static let columns = "token, kind, blind_index, key_version, nonce, ciphertext, details, created_at, updated_at, tenant"
    static let byToken = "SELECT \(columns) FROM provider_references WHERE token = ? AND tenant = ? ORDER BY kind"
    static let byBlindIndex = "SELECT \(columns) FROM provider_references WHERE blind_index = ? AND kind = ? AND tenant = ?"
    static let delete = "DELETE FROM provider_references WHERE token = ? AND tenant = ?"
    static let notUnderVersion = "SELECT \(columns) FROM provider_references WHERE key_version <> ? LIMIT ?"
    static let upsert = """
        INSERT INTO provider_references (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(token, kind) DO UPDATE SET blind_index = excluded.blind_index, key_version = excluded.key_version,
            nonce = excluded.nonce, ciphertext = excluded.ciphertext, details = excluded.details, updated_at = excluded.updated_at
        """

    static func reference(_ row: Row) throws -> SealedProviderReference {
        guard let token = CardToken(row[0] as String), let kind = ProviderReferenceKind(rawValue: row[1]),
            let details = try? JSONDecoder().decode(ReferenceDetails.self, from: Data((row[6] as String).utf8))
        else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed row in provider_references")
        }
        return SealedProviderReference(
            token: token, tenant: Tenant(stored: row[9]), kind: kind, blindIndex: [UInt8](row[2] as Data), keyVersion: row[3],
            box: SealedBox(nonce: [UInt8](row[4] as Data), ciphertext: [UInt8](row[5] as Data)),
            details: details, createdAt: StoredDate.date(row[7]), updatedAt: StoredDate.date(row[8]))
    }

    static func arguments(_ r: SealedProviderReference) -> StatementArguments {
        [
            r.token.rawValue, r.kind.rawValue, Data(r.blindIndex), r.keyVersion, Data(r.box.nonce), Data(r.box.ciphertext),
            String(decoding: VaultJSON.encode(r.details), as: UTF8.self), StoredDate.millis(r.createdAt), StoredDate.millis(r.updatedAt),
            r.tenant.rawValue,
        ]
    }
}
