import ArgumentParser
import Foundation
import VaultCrypto
import VaultDomain
import VaultImport

/// `cardvault import-key`: the public key card files for `cardvault import` are sealed to.
struct ImportKey: AsyncParsableCommand, RemoteAdminCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-key",
        abstract: "Print the public key to seal card files to for `cardvault import` (X25519; derived from the vault's keys, never stored).")
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Output.run(json: output.json) {
            let runtime = try await vault.openLoadedRuntime()
            let key = Base64URL.encode(try runtime.keys.derivedKeys().importKeyPair().publicKey)
            try await runtime.audit.record("cards.import_key", subject: nil, outcome: .success, actor: Output.actor)
            if output.json { Output.json(["public_key": key]) } else { Output.line(key) }
        }
    }
}

/// `cardvault seal-file --to KEY --out FILE`: seals standard input to a public key, for the
/// side that hands cards over (or an operator sealing an export on its way in): the plaintext
/// is read from a pipe and never written to disk.
struct SealFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal-file", abstract: "Seal standard input to a public key (`cardvault import-key`) into a new file (mode 0600).")
    @OptionGroup var output: OutputOptions
    // A base64url key may start with '-': taken as the value, never as another option.
    @Option(name: .customLong("to"), parsing: .unconditional, help: "The recipient's public key (base64url), as `cardvault import-key` prints it.")
    var recipient: String
    @Option(name: .customLong("out"), help: "The sealed file to create (must not exist).") var path: String

    func run() async throws {
        try await Output.run(json: output.json) {
            let failed = VaultError(.unavailable, code: .invalidSetting, message: "\(path) could not be written")
            let file = try SealedFileOutput(path: path, recipient: try SealedFile.publicKey(recipient, setting: "--to"), failed: failed)
            var bytes = 0
            do {
                while let data = try FileHandle.standardInput.read(upToCount: SealedStreamWriter.chunkSize), !data.isEmpty {
                    var chunk = Array(data)
                    defer { wipe(&chunk) }
                    try file.write(chunk)
                    bytes += chunk.count
                }
                try file.finish()
            } catch {
                unlink(path)
                throw failed
            }
            if output.json { Output.json(["path": path, "plaintext_bytes": String(bytes)]) } else { Output.line("sealed \(bytes) byte(s) into \(path)") }
        }
    }
}

/// `cardvault import --tenant T FILE`: cards from a sealed card file into a tenant.
struct Import: AsyncParsableCommand, DualControlCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import cards from a card file sealed to `cardvault import-key` (JSON lines or CSV), idempotently by reference.",
        discussion: """
            Rows: number, exp_month, exp_year, optional holder, and the exporter's reference. A reference imported before is \
            skipped, so a second run (or one resumed after a crash) creates nothing twice; a card the tenant holds already is \
            reused. --dry-run checks every row and changes nothing. --mapping writes reference, token, fingerprint, status and \
            error per row, sealed to --mapping-key. Under the shamir seal it needs the threshold of shares (dual control).
            """)
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The tenant the cards go into (it must have a client already).") var tenant: String
    @Argument(help: "The sealed card file.") var file: String
    @Flag(help: "Check every row and report what an import would do; change nothing.") var dryRun = false
    @Option(help: "Write the mapping file here (a new file, mode 0600), sealed to --mapping-key.") var mapping: String?
    @Option(name: .customLong("mapping-key"), parsing: .unconditional, help: "The public key (base64url X25519) the mapping file is sealed to.")
    var mappingKey: String?
    @Option(help: "Rows per commit.") var batchSize = 500

    func validate() throws {
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1 to 10000") }
        guard (mapping == nil) == (mappingKey == nil) else { throw ValidationError("--mapping and --mapping-key go together") }
    }

    /// What the run did, row counts by outcome (`--json`), and the first invalid rows.
    struct Report: Encodable {
        let tenant: String
        let dryRun: Bool
        let rows: Int
        let counts: [String: Int]
        let errors: [RowError]
        let seconds: Double
        let mapping: String?

        struct RowError: Encodable {
            let line: Int
            let reference: String?
            let status: String
            let fields: [FieldIssue]
        }
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            let started = Date()
            let tenant = try Tenant(validating: self.tenant)
            let runtime = try await vault.openLoadedRuntime()
            if tenant != .default, try await !runtime.clients.tenants().contains(where: { $0.tenant == tenant }) {
                throw VaultError(.notFound, code: .tenantNotFound, message: "no client belongs to tenant \(tenant.rawValue) yet", field: "tenant")
            }
            if !dryRun { try await runtime.keyAdmin.verifyCustody(vault.custody, for: "cards.import", actor: Output.actor) }
            let keyPair = try runtime.keys.derivedKeys().importKeyPair()
            defer { keyPair.wipe() }
            let reader = CardFileReader(stream: try SealedFile.reader(path: file, keyPair: keyPair))
            let mapper = try mapping.map { path throws(VaultError) in
                try MappingFileWriter(path: path, recipient: try SealedFile.publicKey(mappingKey ?? "", setting: "--mapping-key"))
            }
            let importer = runtime.importer
            var seen = CardImporter.Seen()
            var counts: [CardImportOutcome.Status: Int] = [:]
            var errors: [Report.RowError] = []
            var rows = 0
            let bar = !output.json && isatty(STDERR_FILENO) == 1
            // One batch commits while the next is read and prepared; commits stay in file order.
            var committing: Task<[CardImportOutcome], any Error>?
            let actor = Output.actor
            while true {
                let batch = try reader.nextBatch(size: batchSize)
                let prepared = batch.isEmpty || dryRun ? nil : try await importer.prepare(batch, tenant: tenant, seen: &seen)
                let outcomes: [CardImportOutcome]
                if dryRun {
                    if batch.isEmpty { break }
                    outcomes = try await importer.check(batch, tenant: tenant, seen: &seen)
                } else {
                    outcomes = try await committing?.value ?? []
                    committing = prepared.map { prepared in Task { try await importer.store(prepared, tenant: tenant, actor: actor) } }
                    if outcomes.isEmpty && committing == nil { break }
                }
                try mapper?.append(outcomes)
                rows += outcomes.count
                for o in outcomes {
                    counts[o.status, default: 0] += 1
                    if o.status == .invalid || o.status == .duplicate, errors.count < 100 {
                        errors.append(.init(line: o.line, reference: o.reference, status: o.status.rawValue, fields: o.issues))
                    }
                }
                let rate = Double(rows) / max(Date().timeIntervalSince(started), 0.001)
                if output.json {
                    Output.status("{\"progress\":{\"rows\":\(rows),\"rows_per_second\":\(Int(rate))}}\n")
                } else if bar {
                    Output.status(String(format: "\r%d row(s)  %.0f rows/s ", rows, rate))
                }
            }
            if bar { Output.status("\n") }
            try mapper?.finish()
            try await importer.recordRun(tenant: tenant, counts: counts, dryRun: dryRun, actor: Output.actor)
            let report = Report(
                tenant: tenant.rawValue, dryRun: dryRun, rows: rows, counts: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
                errors: errors, seconds: Date().timeIntervalSince(started), mapping: mapping)
            if output.json { Output.json(report); return }
            let order: [CardImportOutcome.Status] = [.created, .existing, .imported, .duplicate, .invalid]
            Output.line(
                (dryRun ? "dry run: " : "") + "\(rows) row(s) for tenant \(tenant.rawValue): "
                    + order.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
                    + String(format: " in %.1f s", report.seconds))
            for e in errors {
                Output.line(
                    "  row \(e.line): \(e.status)"
                        + (e.fields.isEmpty ? "" : " " + e.fields.map { "\($0.field) (\($0.code.rawValue))" }.joined(separator: ", ")))
            }
        }
    }
}

/// `cardvault mapping-key --out FILE`: a key pair for whoever receives a mapping file (the
/// operator, the exporter), its secret half in a new file of mode 0600. Prints the public half
/// for `cardvault import --mapping-key`. It is not a vault key: the vault never reads it.
struct MappingKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping-key", abstract: "Make a key pair to receive mapping files with; the secret half goes into a new file (mode 0600).")
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("out"), help: "The file to hold the secret half (must not exist).") var path: String

    func run() async throws {
        try await Output.run(json: output.json) {
            let seed = try SymmetricKey.generate()
            let pair = try SealedBoxKeyPair(seed: seed)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw VaultError(.failedPrecondition, code: .outputFileExists, message: "\(path) exists already or cannot be created; give a new path")
            }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            var text = Array((seed.withUnsafeBytes { Base64URL.encode($0) } + "\n").utf8)
            defer { wipe(&text) }
            try handle.write(contentsOf: Data(text))
            try handle.close()
            let key = Base64URL.encode(pair.publicKey)
            if output.json { Output.json(["public_key": key, "secret_file": path]) } else { Output.line(key) }
        }
    }
}

/// `cardvault open-file --key FILE SEALED`: a sealed file (a mapping file) opened with a key
/// pair from `cardvault mapping-key`, to standard output.
struct OpenFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open-file", abstract: "Write a sealed file (a mapping file) to standard output, opened with a `cardvault mapping-key` file.")
    @Option(name: .customLong("key"), help: "The secret file `cardvault mapping-key` wrote.") var keyPath: String
    @Argument(help: "The sealed file.") var file: String

    func run() async throws {
        try await Output.run(json: false) {
            guard let data = FileManager.default.contents(atPath: keyPath),
                let seed = Base64URL.decode(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                let key = try? SymmetricKey(SecureBytes(copying: seed)), let pair = try? SealedBoxKeyPair(seed: key)
            else {
                throw VaultError(.invalidInput, code: .invalidSetting, message: "\(keyPath) is not a key file from `cardvault mapping-key`")
            }
            let reader = try SealedFile.reader(path: file, keyPair: pair)
            do {
                while try reader.next({ chunk in try FileHandle.standardOutput.write(contentsOf: Data(chunk)) }) {}
            } catch {
                throw SealedFile.unreadable
            }
        }
    }
}

/// `cardvault export --tenant T --to KEY --out FILE (--all | --tokens FILE)`: a tenant's cards
/// into a new file sealed to a recipient (another vault's `cardvault import-key`).
struct Export: AsyncParsableCommand, DualControlCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a tenant's cards (number, expiry, holder, token, fingerprint) into a new file sealed to a recipient's public key.",
        discussion: """
            The file is JSON lines, as `cardvault import` reads them (the token becomes the reference), sealed to --to (an X25519 \
            public key, such as another vault's `cardvault import-key`). Every card is audited as released. Under the shamir seal \
            it needs the threshold of shares (dual control).
            """)
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The tenant whose cards go out.") var tenant: String
    @Option(name: .customLong("to"), parsing: .unconditional, help: "The recipient's public key (base64url X25519).") var recipient: String
    @Option(name: .customLong("out"), help: "The sealed file to create (must not exist; mode 0600).") var path: String
    @Flag(help: "Every card of the tenant.") var all = false
    @Option(help: "A file of vault tokens, one per line: only these cards.") var tokens: String?
    @Option(help: "Cards per audited page.") var batchSize = 500

    func validate() throws {
        guard all != (tokens != nil) else { throw ValidationError("give --all or --tokens FILE") }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1 to 10000") }
    }

    struct Report: Encodable {
        let tenant: String
        let cards: Int
        let path: String
        let seconds: Double
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            let started = Date()
            let tenant = try Tenant(validating: self.tenant)
            let key = try SealedFile.publicKey(recipient, setting: "--to")
            let selected = try tokens.map { file throws(VaultError) -> [CardToken] in
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw VaultError(.invalidInput, code: .invalidSetting, message: "cannot read \(file)")
                }
                return try String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map { line throws(VaultError) in
                    guard let token = CardToken(line.trimmingCharacters(in: .whitespaces)) else {
                        throw VaultError(.invalidInput, code: .invalidToken, message: "\(file) holds a line that is not a vault token")
                    }
                    return token
                }
            }
            let runtime = try await vault.openLoadedRuntime()
            try await runtime.keyAdmin.verifyCustody(vault.custody, for: "cards.export", actor: Output.actor)
            let exporter = CardExporter(context: runtime.context)
            let file = try CardFileWriter(path: path, recipient: key)
            var count = 0
            do {
                if let selected {
                    for start in stride(from: 0, to: selected.count, by: batchSize) {
                        let page = Array(selected[start..<min(start + batchSize, selected.count)])
                        for card in try await exporter.cards(page, tenant: tenant, actor: Output.actor) { try file.append(card) }
                        count += page.count
                    }
                } else {
                    var after: CardToken?
                    while true {
                        let page = try await exporter.page(tenant: tenant, after: after, limit: batchSize, actor: Output.actor)
                        guard let last = page.last else { break }
                        for card in page { try file.append(card) }
                        count += page.count
                        after = last.token
                    }
                }
                try file.finish()
            } catch {
                // A file cut short is unreadable anyway; do not leave it behind.
                unlink(path)
                throw error
            }
            try await exporter.recordRun(tenant: tenant, count: count, recipient: key, actor: Output.actor)
            let report = Report(tenant: tenant.rawValue, cards: count, path: path, seconds: Date().timeIntervalSince(started))
            if output.json { Output.json(report); return }
            Output.line(String(format: "exported %d card(s) of tenant %@ into %@ in %.1f s", count, tenant.rawValue, path, report.seconds))
        }
    }
}
