import ArgumentParser
import Foundation
import VaultDomain
import VaultStorage

/// `cardvault keys ...`: the key hierarchy's life cycle.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, inspect and rotate the vault's keys.",
        subcommands: [Init.self, Status.self, Rotate.self, Rewrap.self, Retire.self, RotateMaster.self, Rekey.self, MigrateSeal.self]
    )

    struct Init: AsyncParsableCommand, HandsOverShares {
        static let configuration = CommandConfiguration(
            abstract: "Create the master key under a seal (file, shamir or pkcs11), the index key and data-key version 1.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var seal: SealOptions

        var shareFiles: [String] { seal.shareFile }

        func run() async throws {
            try await Output.run(json: output.json) {
                let request = try seal.request(default: .file)
                let runtime = try await vault.openRuntime(unseal: false)
                let result = try await runtime.keyAdmin.initialize(
                    actor: Output.actor, seal: request, handOver: vault.handOver(files: seal.shareFile, json: output.json))
                let status = try await runtime.keyAdmin.status()
                let place =
                    switch status.seal.kind {
                    case .file: runtime.keys.directory.masterKeyPath + " (mode 0600)"
                    case .shamir:
                        "\(status.seal.shares ?? 0) shares, any \(status.seal.threshold ?? 0) unseal"
                            + (seal.shareFile.isEmpty ? " (printed above; no share was written to disk)" : " (one per --share-file)")
                    case .pkcs11: "token key \(status.seal.keyLabel ?? "") (not extractable)"
                    }
                if output.json {
                    Output.json(
                        InitReport(
                            result: result.rawValue, masterKeyID: status.masterKeyID, seal: status.seal,
                            masterKeyFile: status.seal.kind == .file ? runtime.keys.directory.masterKeyPath : nil, activeVersion: status.activeVersion))
                } else {
                    switch result {
                    case .alreadyInitialised:
                        Output.line(
                            "keys already initialised (master key \(status.masterKeyID), seal \(status.seal.kind.rawValue), active version v\(status.activeVersion))"
                        )
                    default:
                        Output.line(
                            "initialised: master key \(status.masterKeyID) under the \(status.seal.kind.rawValue) seal: \(place); data key v\(status.activeVersion) active"
                        )
                    }
                }
            }
        }

        struct InitReport: Encodable {
            let result: String
            let masterKeyID: String
            let seal: SealDescriptor
            let masterKeyFile: String?
            let activeVersion: Int
            enum CodingKeys: String, CodingKey {
                case result, seal
                case masterKeyID = "master_key_id"
                case masterKeyFile = "master_key_file"
                case activeVersion = "active_version"
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each data-key version, its state and how many records (cards, provider tokens, provider references) use it.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openRuntime(unseal: false)
                let status = try await runtime.keyAdmin.status()
                // Sealed here (a shamir vault read without shares): no audit key; the read is
                // of counts only, no card data.
                if !status.sealed {
                    try await runtime.audit.record("keys.status", subject: "v\(status.activeVersion)", outcome: .success, actor: Output.actor)
                }
                if output.json { Output.json(status); return }
                Output.line("seal \(SealOptions.describe(status.seal))")
                Output.line("master key \(status.masterKeyID); active data key v\(status.activeVersion); \(status.totalCards) card(s)")
                Output.line("VERSION  STATE         CARDS     PROVIDER-TOKENS  PROVIDER-REFERENCES")
                for v in status.versions {
                    Output.line(
                        "v\(v.version)".padding(toLength: 9, withPad: " ", startingAt: 0)
                            + v.state.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
                            + "\(v.cards)".padding(toLength: 10, withPad: " ", startingAt: 0)
                            + "\(v.providerTokens)".padding(toLength: 17, withPad: " ", startingAt: 0) + "\(v.providerReferences)")
                }
            }
        }
    }

    struct Rotate: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "Add a data-key version and make it active (running servers follow within seconds).")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openRuntime()
                let version = try await runtime.keyAdmin.rotate(actor: Output.actor)
                if output.json {
                    Output.json(["active_version": version])
                } else {
                    Output.line("data key v\(version) is now active; run `cardvault keys rewrap` to move older cards to it")
                }
            }
        }
    }

    struct Rewrap: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "Re-encrypt cards under older versions to the active version, online and resumable.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Cards per transaction.") var batchSize = 500
        @Option(help: "Stop after this many batches (resume later).") var maxBatches: Int?
        @Option(name: .customLong("pause-ms"), help: "Milliseconds to leave the database to the running server between batches.") var pauseMS = 5

        func validate() throws {
            guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1 to 10000") }
            if let maxBatches, maxBatches < 1 { throw ValidationError("--max-batches must be at least 1") }
        }

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openRuntime()
                let bar = ProgressBar(enabled: !output.json && isatty(STDERR_FILENO) == 1)
                let result = try await runtime.keyAdmin.rewrap(actor: Output.actor, batchSize: batchSize, maxBatches: maxBatches, pause: .milliseconds(pauseMS))
                { progress in
                    bar.show(progress)
                }
                bar.finish()
                if output.json { Output.json(result); return }
                Output.line(
                    String(
                        format: "rewrapped %d card(s), %d provider token(s) and %d provider reference(s) to v%d in %.1f s (%.0f records/s); %d remaining",
                        result.cards, result.providerTokens, result.providerReferences, result.targetVersion, result.seconds, result.rowsPerSecond,
                        result.remaining))
            }
        }
    }

    struct Retire: AsyncParsableCommand, DualControlCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy a data-key version that no card uses any more.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The version to retire, e.g. 1 or v1.") var version: String

        func run() async throws {
            try await Output.run(json: output.json) {
                guard let number = Int(version.hasPrefix("v") ? String(version.dropFirst()) : version), number > 0 else {
                    throw VaultError.invalid("version", code: .invalidVersion, "version must be a number such as 1 or v1")
                }
                let runtime = try await vault.openRuntime()
                try await runtime.keyAdmin.retire(version: number, actor: Output.actor, custody: vault.custody)
                if output.json { Output.json(["retired_version": number]) } else { Output.line("data key v\(number) retired and destroyed") }
            }
        }
    }

    struct RotateMaster: AsyncParsableCommand, DualControlCommand, HandsOverShares {
        static let configuration = CommandConfiguration(
            commandName: "rotate-master",
            abstract: "Replace the master key and re-wrap the data keys under it (shamir: a new share set, from the threshold of current shares).")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .customLong("share-file"), help: "shamir: write the new share i to this file (repeat once per share; default: print them).")
        var shareFiles: [String] = []

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openRuntime()
                let id = try await runtime.keyAdmin.rotateMaster(
                    actor: Output.actor, custody: vault.custody, handOver: vault.handOver(files: shareFiles, json: output.json))
                let seal = try await runtime.keyAdmin.status().seal
                if output.json {
                    Output.json(["master_key_id": id, "seal": seal.kind.rawValue])
                } else if seal.kind == .file {
                    Output.line("master key replaced: now \(id) in \(runtime.keys.directory.masterKeyPath); data keys re-wrapped")
                } else {
                    Output.line("master key replaced: now \(id) under the \(SealOptions.describe(seal)) seal; data keys re-wrapped")
                }
            }
        }
    }

    struct Rekey: AsyncParsableCommand, DualControlCommand, HandsOverShares {
        static let configuration = CommandConfiguration(
            abstract: "shamir: make a new share set (new count and threshold) for the same master key, from the threshold of current shares.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Shares to make (2 to 10).") var shares: Int
        @Option(help: "Shares needed to unseal (2 to --shares).") var threshold: Int
        @Option(help: "Who holds share 1, 2, ... (repeat; named in the audit).") var custodian: [String] = []
        @Option(name: .customLong("share-file"), help: "Write share i to this file (repeat once per share; default: print them).")
        var shareFiles: [String] = []

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openRuntime()
                let seal = try await runtime.keyAdmin.rekey(
                    shares: shares, threshold: threshold, custodians: custodian, actor: Output.actor, custody: vault.custody,
                    handOver: vault.handOver(files: shareFiles, json: output.json))
                if output.json { Output.json(seal); return }
                Output.line("rekeyed: \(SealOptions.describe(seal)); the previous shares no longer work")
            }
        }
    }

    struct MigrateSeal: AsyncParsableCommand, DualControlCommand, HandsOverShares {
        static let configuration = CommandConfiguration(
            commandName: "migrate-seal", abstract: "Move the vault to another seal by re-wrapping its keys (card rows untouched).")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var seal: SealOptions

        var shareFiles: [String] { seal.shareFile }

        func run() async throws {
            try await Output.run(json: output.json) {
                guard seal.seal != nil else { throw VaultError.invalid("to", code: .sealInvalid, "give the target seal with --to file|shamir|pkcs11") }
                let request = try seal.request(default: .file)
                let runtime = try await vault.openRuntime()
                let descriptor = try await runtime.keyAdmin.migrateSeal(
                    to: request, actor: Output.actor, custody: vault.custody, handOver: vault.handOver(files: seal.shareFile, json: output.json))
                if output.json { Output.json(descriptor); return }
                var note = ""
                if descriptor.kind == .file { note = "; master key now in \(runtime.keys.directory.masterKeyPath)" }
                Output.line("migrated to the \(SealOptions.describe(descriptor)) seal\(note)")
            }
        }
    }
}
