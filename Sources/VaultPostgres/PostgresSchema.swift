/// The PostgreSQL schema, as numbered migrations like GRDB's: each runs once, in order, in its
/// own transaction, recorded in `cardvault_migrations`; a shipped migration is never edited.
/// The tables mirror SQLite's final schema (times as milliseconds, bytes as `bytea`), and the
/// rules SQLite keeps in triggers are triggers here too: no card, provider token or provider
/// reference under a retired or unknown key version.
enum PostgresSchema {
    /// Each migration is a list of statements (the extended query protocol takes one at a time).
    static let migrations: [(id: String, statements: [String])] = [
        (
            "v1-core",
            [
                """
                CREATE TABLE data_keys (
                    version INTEGER PRIMARY KEY,
                    state TEXT NOT NULL CHECK (state IN ('active', 'decrypt-only', 'retired')),
                    kek_id TEXT NOT NULL,
                    nonce BYTEA,
                    wrapped BYTEA,
                    created_at BIGINT NOT NULL,
                    retired_at BIGINT,
                    CHECK ((state = 'retired') = (wrapped IS NULL))
                )
                """,
                """
                CREATE UNIQUE INDEX data_keys_single_active ON data_keys(state) WHERE state = 'active'
                """,
                """
                CREATE TABLE index_key (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    kek_id TEXT NOT NULL,
                    nonce BYTEA NOT NULL,
                    wrapped BYTEA NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE seal (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    descriptor TEXT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE cards (
                    token TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL UNIQUE,
                    key_version INTEGER NOT NULL REFERENCES data_keys(version),
                    nonce BYTEA NOT NULL,
                    ciphertext BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    retain_until BIGINT,
                    tenant TEXT NOT NULL
                )
                """,
                """
                CREATE INDEX cards_by_key_version ON cards(key_version)
                """,
                """
                CREATE INDEX cards_by_retention ON cards(retain_until) WHERE retain_until IS NOT NULL
                """,
                """
                CREATE TABLE provider_tokens (
                    card_token TEXT NOT NULL REFERENCES cards(token) ON DELETE CASCADE,
                    provider TEXT NOT NULL,
                    key_version INTEGER NOT NULL REFERENCES data_keys(version),
                    nonce BYTEA NOT NULL,
                    ciphertext BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (card_token, provider)
                )
                """,
                """
                CREATE INDEX provider_tokens_by_key_version ON provider_tokens(key_version)
                """,
                """
                CREATE TABLE provider_references (
                    token TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('ioka.card', 'ioka.sender')),
                    blind_index BYTEA NOT NULL UNIQUE,
                    key_version INTEGER NOT NULL REFERENCES data_keys(version),
                    nonce BYTEA NOT NULL,
                    ciphertext BYTEA NOT NULL,
                    details TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    tenant TEXT NOT NULL,
                    PRIMARY KEY (token, kind)
                )
                """,
                """
                CREATE INDEX provider_references_by_key_version ON provider_references(key_version)
                """,
                """
                -- No record may be sealed under a retired (destroyed) or unknown key version.
                CREATE FUNCTION cardvault_key_usable() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version), 'retired') = 'retired' THEN
                        RAISE EXCEPTION 'key_version_not_usable' USING ERRCODE = 'P0001';
                    END IF;
                    RETURN NEW;
                END $$
                """,
                """
                CREATE TRIGGER cards_key_usable BEFORE INSERT OR UPDATE OF key_version, ciphertext ON cards
                    FOR EACH ROW EXECUTE FUNCTION cardvault_key_usable()
                """,
                """
                CREATE TRIGGER provider_tokens_key_usable BEFORE INSERT OR UPDATE OF key_version, ciphertext ON provider_tokens
                    FOR EACH ROW EXECUTE FUNCTION cardvault_key_usable()
                """,
                """
                CREATE TRIGGER provider_references_key_usable BEFORE INSERT OR UPDATE OF key_version, ciphertext ON provider_references
                    FOR EACH ROW EXECUTE FUNCTION cardvault_key_usable()
                """,
                """
                CREATE TABLE clients (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    scopes TEXT NOT NULL,
                    secret_hash BYTEA NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT,
                    secret_rotated_at BIGINT,
                    tenant TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE audit_log (
                    seq BIGINT PRIMARY KEY,
                    at TEXT NOT NULL,
                    client TEXT,
                    action TEXT NOT NULL,
                    subject TEXT,
                    outcome TEXT NOT NULL,
                    request_id TEXT,
                    source TEXT,
                    hash BYTEA NOT NULL,
                    tenant TEXT
                )
                """,
                """
                CREATE TABLE idempotency_keys (
                    client TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_hash BYTEA NOT NULL,
                    status INTEGER NOT NULL,
                    body BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (client, key)
                )
                """,
                """
                CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at)
                """,
                """
                CREATE TABLE provider_calls (
                    provider TEXT NOT NULL,
                    reference TEXT NOT NULL,
                    cards TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    tenant TEXT NOT NULL,
                    PRIMARY KEY (provider, reference)
                )
                """,
                """
                CREATE INDEX provider_calls_by_age ON provider_calls(created_at)
                """,
                """
                CREATE TABLE provider_notifications (
                    key TEXT PRIMARY KEY,
                    answer BYTEA NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE INDEX provider_notifications_by_age ON provider_notifications(created_at)
                """,
                """
                CREATE TABLE enumeration_guard (
                    day BIGINT NOT NULL,
                    client TEXT NOT NULL,
                    bucket BYTEA NOT NULL,
                    card BYTEA NOT NULL,
                    seen_at BIGINT NOT NULL,
                    PRIMARY KEY (day, client, bucket, card)
                )
                """,
            ]
        ),
        (
            // Pending security codes shared by the instances (`SharedSecurityCodes`): UNLOGGED,
            // so no row reaches the WAL, a standby or a base backup (after a crash the tables
            // come back empty). Rows hold only sealed boxes. And the lease that lets one
            // instance at a time run a maintenance job.
            "v2-shared-codes-and-job-leases",
            [
                """
                CREATE UNLOGGED TABLE code_recipients (
                    recipient BYTEA PRIMARY KEY,
                    instance TEXT NOT NULL,
                    seen_at BIGINT NOT NULL
                )
                """,
                """
                CREATE UNLOGGED TABLE pending_codes (
                    token TEXT NOT NULL,
                    tenant TEXT NOT NULL,
                    recipient BYTEA NOT NULL,
                    box BYTEA NOT NULL,
                    expires_at BIGINT NOT NULL,
                    PRIMARY KEY (token, recipient)
                )
                """,
                """
                CREATE INDEX pending_codes_by_recipient ON pending_codes(recipient)
                """,
                """
                CREATE INDEX pending_codes_by_expiry ON pending_codes(expires_at)
                """,
                """
                CREATE TABLE job_leases (
                    job TEXT PRIMARY KEY,
                    holder TEXT NOT NULL,
                    until BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            // Client rows carry a keyed MAC (`ClientRows`); rows written before have none until
            // the one-time pass that sets the `client_macs` marker.
            "v3-client-macs",
            [
                """
                ALTER TABLE clients ADD COLUMN mac BYTEA
                """,
                """
                CREATE TABLE vault_markers (
                    name TEXT PRIMARY KEY,
                    at BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            // Idempotency records carry a keyed MAC (`StoredResponse.sealed`); one without is refused.
            "v4-idempotency-macs",
            [
                """
                ALTER TABLE idempotency_keys ADD COLUMN mac BYTEA
                """
            ]
        ),
        (
            // The audit log sequenced after commit (issue 21): writers no longer share the log's
            // head (nor a lock for it). Each connection appends to its own lane in
            // `audit_queue` (position from a sequence, its lane's number and chain hash); the
            // sequencer moves committed rows into `audit_log`, giving them their `seq` and
            // chain hash and keeping their lane columns, so the lane chain still covers them.
            // And the key-version check, made safe for writers that run in parallel.
            "v5-audit-lanes-and-parallel-writers",
            [
                """
                CREATE TABLE audit_queue (
                    pos BIGSERIAL PRIMARY KEY,
                    lane BYTEA NOT NULL,
                    lane_seq BIGINT NOT NULL,
                    at TEXT NOT NULL,
                    client TEXT,
                    action TEXT NOT NULL,
                    subject TEXT,
                    outcome TEXT NOT NULL,
                    request_id TEXT,
                    source TEXT,
                    tenant TEXT,
                    lane_hash BYTEA NOT NULL,
                    UNIQUE (lane, lane_seq)
                )
                """,
                """
                ALTER TABLE audit_log ADD COLUMN lane BYTEA, ADD COLUMN lane_seq BIGINT, ADD COLUMN lane_hash BYTEA
                """,
                """
                CREATE UNIQUE INDEX audit_log_by_lane ON audit_log(lane, lane_seq) WHERE lane IS NOT NULL
                """,
                """
                -- Writers no longer run one at a time: the version's row is locked (shared)
                -- while a record under it commits, so a retire waits for it, or it sees the
                -- retire.
                CREATE OR REPLACE FUNCTION cardvault_key_usable() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF COALESCE((SELECT state FROM data_keys WHERE version = NEW.key_version FOR SHARE), 'retired') = 'retired' THEN
                        RAISE EXCEPTION 'key_version_not_usable' USING ERRCODE = 'P0001';
                    END IF;
                    RETURN NEW;
                END $$
                """,
            ]
        ),
        (
            // What `cardvault import` remembers per exporter reference (`CardImportRecord`).
            "v6-card-imports",
            [
                """
                CREATE TABLE card_imports (
                    tenant TEXT NOT NULL,
                    reference_hash BYTEA NOT NULL,
                    token TEXT NOT NULL,
                    mac BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (tenant, reference_hash)
                )
                """
            ]
        ),
    ]
}
