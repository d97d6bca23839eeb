import Foundation
import GRDB
import VaultDomain

/// What `cardvault backup` and `cardvault restore` report.
public struct BackupSummary: Sendable, Codable, Equatable {
    public var path: String
    public var bytes: Int
    public var cards: Int
    public var providerReferences: Int
    /// The master key the backup's data keys are wrapped under (its check value).
    public var masterKeyID: String
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case path, bytes, cards, seconds
        case providerReferences = "provider_references"
        case masterKeyID = "master_key_id"
    }
}

/// Online backup and offline restore. A backup is a single SQLite file made with SQLite's
/// backup API while the server keeps running: it is exactly as encrypted as the database (PANs,
/// provider tokens and references sealed under data keys, which are themselves wrapped under
/// the master key). The master key is never in it: a backup is useless without the keys folder,
/// and the keys folder is backed up separately, by the key custodians.
public enum VaultBackup {
    public static func failure(_ code: VaultError.Code, _ message: String) -> VaultError {
        VaultError(.failedPrecondition, code: code, message: message)
    }

    /// Copies the live database to `path` (which must not exist), mode 0600, as one
    /// self-contained file (rollback journal, no WAL beside it), and checks the copy. The backup
    /// is audited before it starts, so the copy holds its own audit row; a backup that then fails
    /// is audited again as a failure.
    public static func create(_ runtime: VaultRuntime, to path: String, actor: AuditActor) async throws -> BackupSummary {
        let started = Date()
        guard !FileManager.default.fileExists(atPath: path) else {
            throw failure(.backupExists, "the backup file already exists; choose a new name")
        }
        try await runtime.keyAdmin.load()
        try await runtime.audit.record("backup.create", subject: (path as NSString).lastPathComponent, outcome: .success, actor: actor)
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // Created empty and private before any page is written into it.
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw failure(.backupNotWritable, "cannot create the backup file")
        }
        do {
            guard let database = runtime.database else {
                throw VaultError(
                    .failedPrecondition, code: .backupNotWritable,
                    message:
                        "a PostgreSQL vault is backed up with pgBackRest (archived WAL and full backups, restore to a point in time): see deploy/README.md, Backups of a PostgreSQL vault"
                )
            }
            try copy(database.pool, to: path)
            return try inspect(path, started: started)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            try? await runtime.audit.record("backup.create", subject: (path as NSString).lastPathComponent, outcome: .failure, actor: actor)
            throw error
        }
    }

    /// Puts a backup in place as the database at `databasePath`, which must not exist (move the
    /// old one aside first, with the server stopped). Before anything is put in place, the backup
    /// must pass SQLite's integrity check, hold exactly the schema (tables, indexes and the
    /// triggers the vault relies on) its migrations define, have its keys wrapped under the master
    /// key in `keysDirectory` and unwrap with it, and carry an intact audit chain. It is checked in
    /// a staging copy beside the destination and renamed into place only then. The restore is
    /// audited in the restored database.
    ///
    /// Under the shamir seal the restore is under dual control: `custody` must hold the
    /// threshold of the backup's shares (each audited with its custodian in the restored
    /// database); under pkcs11 the token (`hardwareKeys`) must hold the backup's key.
    public static func restore(
        from backup: String, to databasePath: String, keysDirectory: String, actor: AuditActor, custody: [String] = [],
        hardwareKeys: (@Sendable () throws(VaultError) -> any HardwareKeyStore)? = nil
    ) async throws -> BackupSummary {
        let started = Date()
        let staging = databasePath + ".restoring"
        for path in [databasePath, staging] {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                throw failure(.databaseExists, "a database is already at the destination; stop the server and move it aside first")
            }
        }
        let summary = try inspect(backup, started: started)
        let seal = try sealOf(backup)
        if seal.kind == .file {
            let master = try KeyDirectory(path: keysDirectory).loadMasterKey()
            guard summary.masterKeyID == master.checkValue else {
                throw failure(.masterKeyMismatch, "the backup's keys are wrapped under master key \(summary.masterKeyID), not the one in the keys folder")
            }
        }
        try checkSchema(backup)
        let folder = (databasePath as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try FileManager.default.copyItem(atPath: backup, toPath: staging)
        chmod(staging, 0o600)
        do {
            try await checkAndSeal(
                staging, backup: backup, keysDirectory: keysDirectory, actor: actor, seal: seal, masterKeyID: summary.masterKeyID, custody: custody,
                hardwareKeys: hardwareKeys)
            try FileManager.default.moveItem(atPath: staging, toPath: databasePath)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: staging + suffix) }
            throw error
        }
        var restored = summary
        restored.path = databasePath
        restored.seconds = Date().timeIntervalSince(started)
        return restored
    }

    /// The staging copy: keys unwrapped, audit chain verified, the restore audited, then folded
    /// into one file (WAL checkpointed and closed) so it can be renamed into place.
    private static func checkAndSeal(
        _ staging: String, backup: String, keysDirectory: String, actor: AuditActor, seal: SealDescriptor, masterKeyID: String, custody: [String],
        hardwareKeys: (@Sendable () throws(VaultError) -> any HardwareKeyStore)?
    ) async throws {
        let runtime = try VaultRuntime(databasePath: staging, keysDirectory: keysDirectory, hardwareKeys: hardwareKeys)
        if seal.kind == .shamir {
            guard !custody.isEmpty else {
                throw VaultError(
                    .failedPrecondition, code: .sharesRequired,
                    message: "restoring a shamir vault is under dual control: give \(seal.threshold ?? 0) of its key shares on standard input", field: "share")
            }
            runtime.keys.unseal(master: try KeyShares.rebuild(texts: custody, seal: seal, kekID: masterKeyID).0)
        }
        do {
            try await runtime.keyAdmin.load()
        } catch {
            throw failure(.backupKeysUnusable, "the backup's data keys do not unwrap with the master key of its seal (\(seal.kind.rawValue))")
        }
        try await runtime.keyAdmin.verifyCustody(custody, for: "backup.restore", actor: actor)
        if case .broken(let seq, _) = try await runtime.audit.verify(actor: actor) {
            throw failure(.backupAuditBroken, "the backup's audit chain is broken at row \(seq)")
        }
        try await runtime.audit.record("backup.restore", subject: (backup as NSString).lastPathComponent, outcome: .success, actor: actor)
        guard let database = runtime.database else { return }
        try await database.checkpoint()
        try database.pool.close()
    }

    /// The seal a backup was made under (file for backups older than seals).
    public static func seal(of path: String) throws -> SealDescriptor { try sealOf(path) }

    static func sealOf(_ path: String) throws -> SealDescriptor {
        var configuration = Configuration()
        configuration.readonly = true
        let backup = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? backup.close() }
        return try backup.read { db in
            guard try db.tableExists("seal"), let text = try String.fetchOne(db, sql: "SELECT descriptor FROM seal WHERE id = 1") else { return .file }
            return try JSONDecoder().decode(SealDescriptor.self, from: Data(text.utf8))
        }
    }

    /// The backup's schema must be exactly what its applied migrations create, from migrations
    /// this build knows: a dropped or altered trigger (the refusal of cards under a retired key),
    /// table or index is refused.
    static func checkSchema(_ path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let backup = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? backup.close() }
        let migrator = AppDatabase.migrator
        let (applied, schema) = try backup.read { db in (try migrator.appliedIdentifiers(db), try Self.schema(db)) }
        let known = migrator.migrations
        guard let last = known.last(where: applied.contains), Set(known.prefix(through: known.firstIndex(of: last)!)) == applied else {
            throw failure(.backupSchemaUnknown, "the backup's migrations are not a prefix of this build's; restore it with the build that made it")
        }
        let reference = try DatabaseQueue()
        try migrator.migrate(reference, upTo: last)
        guard try reference.read(Self.schema) == schema else {
            throw failure(.backupSchemaAltered, "the backup's tables, indexes or triggers differ from what its migrations create")
        }
    }

    private static func schema(_ db: Database) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master
                WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY type, name
                """)
    }

    /// SQLite's online backup, 256 pages per step so the server's writer is never held long.
    /// The copy is then switched to a rollback journal: one self-contained file.
    private static func copy(_ pool: DatabasePool, to path: String) throws {
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination, pagesPerStep: 256)
        try destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try destination.close()
    }

    /// Opens a backup file read-only, runs `PRAGMA integrity_check` and counts what it holds.
    public static func inspect(_ path: String, started: Date = Date()) throws -> BackupSummary {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            guard try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok" else {
                throw failure(.backupCorrupt, "the backup file fails SQLite's integrity check")
            }
            guard let kek = try String.fetchOne(db, sql: "SELECT kek_id FROM index_key WHERE id = 1") else {
                throw failure(.backupWithoutKeys, "the backup holds no initialised vault")
            }
            let references = try db.tableExists("provider_references") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM provider_references") ?? 0 : 0
            let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            return BackupSummary(
                path: path, bytes: bytes, cards: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cards") ?? 0,
                providerReferences: references, masterKeyID: kek, seconds: Date().timeIntervalSince(started))
        }
    }
}
