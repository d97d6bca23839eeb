import Foundation
import GRDB
import VaultDomain

/// The vault's SQLite database: one `DatabasePool` in WAL mode with `synchronous=FULL`,
/// `secure_delete` on every connection, a busy timeout so the CLI and the server can write at
/// the same time, and the migrator. Migrations are never edited once shipped; add new ones.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String

    /// Opens (creating the folder and file when missing) and migrates.
    public init(path: String, readOnly: Bool = false) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var config = Configuration()
        // When another process (the admin CLI: rewrap, backup) holds the write lock, poll for it
        // every half millisecond, then every 2 ms, for up to about 15 s. SQLite's own busy
        // timeout backs off to 100 ms sleeps, which turned a rewrap under load into second-long
        // stalls for every request.
        config.busyMode = .callback { retries in
            usleep(retries < 100 ? 500 : 2_000)
            return retries < 7_500
        }
        config.foreignKeysEnabled = true
        config.maximumReaderCount = 4
        config.prepareDatabase { db in
            // Deleted rows are overwritten with zeros, so a deleted card leaves no ciphertext behind.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        self.path = path
        pool = try DatabasePool(path: path, configuration: config)
        // DatabasePool sets synchronous=NORMAL when it enables WAL, after prepareDatabase has
        // run: set FULL afterwards on the writer so that a commit survives a power cut.
        // And a 16 MiB page cache for the writer (SQLite's default is 2 MiB): every new card
        // inserts at random places in three B-trees (the token, the fingerprint, an import's
        // reference), and past a few hundred thousand cards the default cache misses on most.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        try Self.migrator.migrate(pool)
        // The database file holds ciphertext and wrapped keys only, but keep it private anyway.
        chmod(path, 0o600)
    }

    /// Reads back the settings a card vault relies on (tests and `readyz`).
    public func pragmas() throws -> (journalMode: String, synchronous: Int, secureDelete: Int) {
        try pool.writeWithoutTransaction { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                try Int.fetchOne(db, sql: "PRAGMA secure_delete") ?? -1
            )
        }
    }

    /// Folds the WAL back into the main file and truncates it, so deleted pages do not linger
    /// in the log.
    /// The one place the checkpoint is written: the store runs it between group commits, a
    /// restore before it closes the database.
    public func checkpoint() async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.execute(
                sql: """
                    CREATE TABLE data_keys (
                        version INTEGER PRIMARY KEY,
                        state TEXT NOT NULL CHECK (state IN ('active', 'decrypt-only', 'retired')),
                        kek_id TEXT NOT NULL,
                        nonce BLOB,
                        wrapped BLOB,
                        created_at INTEGER NOT NULL,
                        retired_at INTEGER,
                        CHECK ((state = 'retired') = (wrapped IS NULL))
                    );
                    CREATE UNIQUE INDEX data_keys_single_active ON data_keys(state) WHERE state = 'active';

                    CREATE TABLE index_key (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        kek_id TEXT NOT NULL,
                        nonce BLOB NOT NULL,
                        wrapped BLOB NOT NULL,
                        created_at INTEGER NOT NULL
                    );

                    CREATE TABLE cards (
                        token TEXT PRIMARY KEY NOT NULL,
                        fingerprint TEXT NOT NULL UNIQUE,
                        key_version INTEGER NOT NULL REFERENCES data_keys(version),
                        nonce BLOB NOT NULL,
                        ciphertext BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX cards_by_key_version ON cards(key_version);

                    -- No card may be sealed under a retired (destroyed) or unknown key version.
                    CREATE TRIGGER cards_key_usable_on_insert BEFORE INSERT ON cards
                    WHEN COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired'
                    BEGIN SELECT RAISE(ABORT, 'key_version_not_usable'); END;
                    CREATE TRIGGER cards_key_usable_on_update BEFORE UPDATE OF key_version, ciphertext ON cards
                    WHEN COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired'
                    BEGIN SELECT RAISE(ABORT, 'key_version_not_usable'); END;

                    CREATE TABLE clients (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        scopes TEXT NOT NULL,
                        secret_hash BLOB NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL,
                        revoked_at INTEGER,
                        secret_rotated_at INTEGER
                    );

                    CREATE TABLE audit_log (
                        seq INTEGER PRIMARY KEY,
                        at TEXT NOT NULL,
                        client TEXT,
                        action TEXT NOT NULL,
                        subject TEXT,
                        outcome TEXT NOT NULL,
                        request_id TEXT,
                        source TEXT,
                        hash BLOB NOT NULL
                    );

                    CREATE TABLE idempotency_keys (
                        client TEXT NOT NULL,
                        key TEXT NOT NULL,
                        request_hash BLOB NOT NULL,
                        status INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (client, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
                    """)
        }
        migrator.registerMigration("v2-provider-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE provider_tokens (
                        card_token TEXT NOT NULL REFERENCES cards(token) ON DELETE CASCADE,
                        provider TEXT NOT NULL,
                        key_version INTEGER NOT NULL REFERENCES data_keys(version),
                        nonce BLOB NOT NULL,
                        ciphertext BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (card_token, provider)
                    ) WITHOUT ROWID;
                    CREATE INDEX provider_tokens_by_key_version ON provider_tokens(key_version);
                    CREATE TRIGGER provider_tokens_key_usable_on_insert BEFORE INSERT ON provider_tokens
                    WHEN COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired'
                    BEGIN SELECT RAISE(ABORT, 'key_version_not_usable'); END;
                    CREATE TRIGGER provider_tokens_key_usable_on_update BEFORE UPDATE OF key_version, ciphertext ON provider_tokens
                    WHEN COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired'
                    BEGIN SELECT RAISE(ABORT, 'key_version_not_usable'); END;
                    """)
        }
        migrator.registerMigration("v3-provider-references") { db in
            // A vault token may hold a PAN card (cards), provider references (here), or both;
            // no foreign key to cards, since a reference-only token has no card row.
            try db.execute(
                sql: """
                    CREATE TABLE provider_references (
                        token TEXT NOT NULL,
                        kind TEXT NOT NULL CHECK (kind IN ('ioka.card', 'ioka.sender')),
                        blind_index BLOB NOT NULL UNIQUE,
                        key_version INTEGER NOT NULL REFERENCES data_keys(version),
                        nonce BLOB NOT NULL,
                        ciphertext BLOB NOT NULL,
                        details TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (token, kind)
                    ) WITHOUT ROWID;
                    CREATE INDEX provider_references_by_key_version ON provider_references(key_version);
                    CREATE TRIGGER provider_references_key_usable_on_insert BEFORE INSERT ON provider_references
                    WHEN COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired'
                    BEGIN SELECT RAISE(ABORT, 'key_version_not_usable'); END;
                    CREATE TRIGGER provider_references_key_usable_on_update BEFORE UPDATE OF key_version, ciphertext ON provider_references
                    WHEN COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired'
                    BEGIN SELECT RAISE(ABORT, 'key_version_not_usable'); END;
                    """)
        }
        migrator.registerMigration("v4-provider-calls") { db in
            // Tokens and fingerprints only (never card data) of the cards a Horizonpay
            // transaction uid or async job id was started with; kept for days, then purged.
            try db.execute(
                sql: """
                    CREATE TABLE provider_calls (
                        provider TEXT NOT NULL,
                        reference TEXT NOT NULL,
                        cards TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (provider, reference)
                    ) WITHOUT ROWID;
                    CREATE INDEX provider_calls_by_age ON provider_calls(created_at);
                    """)
        }
        migrator.registerMigration("v5-retention") { db in
            try db.execute(
                sql: """
                    ALTER TABLE cards ADD COLUMN retain_until INTEGER;
                    CREATE INDEX cards_by_retention ON cards(retain_until) WHERE retain_until IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v6-tenants") { db in
            // Every row that existed belongs to the `default` tenant, whose blind-index keys are
            // the ones used so far. The audit row's tenant is NULL for rows written before, so
            // their hashes stay as they were.
            try db.execute(
                sql: """
                    ALTER TABLE clients ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
                    ALTER TABLE cards ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
                    ALTER TABLE provider_references ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
                    ALTER TABLE provider_calls ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
                    ALTER TABLE audit_log ADD COLUMN tenant TEXT;

                    -- The enumeration guard: which cards (keyed hash of the PAN) each client tokenized
                    -- per bucket (keyed hash of BIN and last four), for 24 hours. No PAN, no plain hash.
                    -- Keyed by UTC day first, so that a look-up reads two days and the purge drops whole
                    -- days from the left of the tree: no second index to write on every tokenize (one
                    -- cost 18% of tokenize throughput in scripts/bench.sh).
                    CREATE TABLE enumeration_guard (
                        day INTEGER NOT NULL,
                        client TEXT NOT NULL,
                        bucket BLOB NOT NULL,
                        card BLOB NOT NULL,
                        seen_at INTEGER NOT NULL,
                        PRIMARY KEY (day, client, bucket, card)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v7-notifications") { db in
            // Notifications already processed, by keyed hash of tenant, transaction uid and
            // status, with the (redacted) answer given: a replay gets the same answer and
            // changes nothing. Purged with provider calls.
            try db.execute(
                sql: """
                    CREATE TABLE provider_notifications (
                        key TEXT PRIMARY KEY NOT NULL,
                        answer BLOB NOT NULL,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX provider_notifications_by_age ON provider_notifications(created_at);
                    """)
        }
        migrator.registerMigration("v8-seal") { db in
            // How the master key is held (file, shamir, pkcs11) and, for shamir, the current
            // share set's id and threshold. No secret: shares and keys never reach the database.
            try db.execute(
                sql: """
                    CREATE TABLE seal (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        descriptor TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v9-client-macs") { db in
            // Client rows carry a keyed MAC (`ClientRows`); rows written before have none until
            // the one-time pass that sets the `client_macs` marker.
            try db.execute(
                sql: """
                    ALTER TABLE clients ADD COLUMN mac BLOB;
                    CREATE TABLE vault_markers (
                        name TEXT PRIMARY KEY NOT NULL,
                        at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v10-idempotency-macs") { db in
            // Idempotency records carry a keyed MAC (`StoredResponse.sealed`); one without is refused.
            try db.execute(sql: "ALTER TABLE idempotency_keys ADD COLUMN mac BLOB")
        }
        migrator.registerMigration("v11-card-imports") { db in
            // What `cardvault import` remembers per exporter reference (`CardImportRecord`):
            // keyed hashes and the token, with a MAC; never a reference in clear.
            try db.execute(
                sql: """
                    CREATE TABLE card_imports (
                        tenant TEXT NOT NULL,
                        reference_hash BLOB NOT NULL,
                        token TEXT NOT NULL,
                        mac BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (tenant, reference_hash)
                    ) WITHOUT ROWID
                    """)
        }
        return migrator
    }
}
