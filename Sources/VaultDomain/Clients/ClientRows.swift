import Foundation
import VaultCrypto

/// Client rows a database writer cannot forge: each carries a keyed MAC (a key derived from
/// the index key, which the database does not hold) over everything that decides what its
/// secret may do: id, name, tenant, scopes, dates, revocation and the secret's hash. A row is
/// checked wherever it is loaded (authentication, cache refills, the CLI), so raising its
/// scopes, moving it to another tenant or un-revoking it with SQL makes it refused
/// (`integrity_failure`), counted and audited.
///
/// Rows written before rows carried a MAC are authenticated once, as they are then (trust on
/// first use), by the first process with keys that meets one; the `client_macs` marker then
/// makes every later row without a MAC a failure. That pass is audited
/// (`clients.rows_authenticated`), so a second one (a writer who also removed the marker) shows
/// in the log.
public enum ClientRows {
    static let marker = "client_macs"

    /// The MAC of a client row.
    public static func mac(_ client: Client, secretHash: [UInt8], keys: DerivedKeys) -> [UInt8] {
        var canonical = "cardvault.client.v1"
        for part in [
            client.id, client.name, client.tenant.rawValue, client.scopes.map(\.rawValue).sorted().joined(separator: ","),
            String(StoredDate.millis(client.createdAt)), client.revokedAt.map { String(StoredDate.millis($0)) } ?? "-",
            client.secretRotatedAt.map { String(StoredDate.millis($0)) } ?? "-",
        ] {
            canonical += "|" + String(part.utf8.count) + ":" + part
        }
        return KeyedHash.hash(Array(canonical.utf8) + secretHash, key: keys.clientRow, length: 32)
    }

    /// The row ready to store: `client` and `secretHash` with their MAC.
    public static func sealed(_ client: Client, secretHash: [UInt8], keys: DerivedKeys) -> StoredClient {
        StoredClient(client: client, secretHash: secretHash, mac: mac(client, secretHash: secretHash, keys: keys))
    }

    /// The client of a row whose MAC checks; otherwise counted and refused, naming the row for
    /// the audit.
    public static func verified(_ row: StoredClient, keys: DerivedKeys) throws(VaultError) -> Client {
        guard let stored = row.mac, KeyedHash.equal(stored, mac(row.client, secretHash: row.secretHash, keys: keys)) else {
            IntegrityFailures.record(.clients)
            throw VaultError.integrityFailure.naming(row: .clients, row.client.id)
        }
        return row.client
    }

    /// Authenticates rows written before rows carried a MAC, once: when the `client_macs`
    /// marker is absent, every row without a MAC gets one and the marker is set, with an audit
    /// row, in one transaction. Returns how many rows it authenticated (0 once the marker is
    /// set). `keys init` sets the marker on a new vault.
    @discardableResult
    public static func authenticateLegacyRows(store: any VaultStore, keys: DerivedKeys, actor: AuditActor, at now: Date) async throws -> Int {
        try await store.write { tx -> Int in
            guard try !tx.hasMarker(marker) else { return 0 }
            var count = 0
            for row in try tx.clients() where row.mac == nil {
                try tx.update(sealed(row.client, secretHash: row.secretHash, keys: keys))
                count += 1
            }
            try tx.setMarker(marker, at: now)
            try tx.appendAudit(
                AuditEvent(action: "clients.rows_authenticated", subject: "count=\(count)", outcome: .success, actor: actor),
                chain: AuditChain(key: keys.audit), at: now)
            return count
        }
    }
}
