import ArgumentParser
import Foundation
import VaultDomain
import VaultStorage

/// `cardvault keys ...`: the key hierarchy's life cycle.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, inspect and rotate the vault's keys.",
        subcommands: [Init.self, Status.self, Rotate.self, Rewrap.self, Retire.self, RotateMaster.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the master key file, the index key and data-key version 1.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try vault.openRuntime()
                let result = try await runtime.keyAdmin.initialize(actor: Output.actor)
                let status = try await runtime.keyAdmin.status()
                if output.json {
                    Output.json(
                        InitReport(
                            result: result.rawValue, masterKeyID: status.masterKeyID, masterKeyFile: runtime.keys.directory.masterKeyPath,
                            activeVersion: status.activeVersion))
                } else {
                    switch result {
                    case .alreadyInitialised:
                        Output.line("keys already initialised (master key \(status.masterKeyID), active version v\(status.activeVersion))")
                    default:
                        Output.line(
                            "initialised: master key \(status.masterKeyID) in \(runtime.keys.directory.masterKeyPath) (mode 0600), data key v\(status.activeVersion) active"
                        )
                    }
                }
            }
        }

        struct InitReport: Encodable {
            let result: String
            let masterKeyID: String
            let masterKeyFile: String
            let activeVersion: Int
            enum CodingKeys: String, CodingKey {
                case result
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
                let runtime = try vault.openRuntime()
                let status = try await runtime.keyAdmin.status()
                try await runtime.audit.record("keys.status", subject: "v\(status.activeVersion)", outcome: .success, actor: Output.actor)
                if output.json { Output.json(status); return }
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

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a data-key version and make it active (running servers follow within seconds).")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try vault.openRuntime()
                let version = try await runtime.keyAdmin.rotate(actor: Output.actor)
                if output.json {
                    Output.json(["active_version": version])
                } else {
                    Output.line("data key v\(version) is now active; run `cardvault keys rewrap` to move older cards to it")
                }
            }
        }
    }

    struct Rewrap: AsyncParsableCommand {
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
                let runtime = try vault.openRuntime()
                let bar = ProgressBar(enabled: !output.json && isatty(STDERR_FILENO) == 1)
                let result = try await runtime.keyAdmin.rewrap(actor: Output.actor, batchSize: batchSize, maxBatches: maxBatches, pause: .milliseconds(pauseMS))
                { progress in
                    bar.show(progress)
                }
                bar.finish()
                if output.json { Output.json(result); return }
                Output.line(
                    String(
                        format: "rewrapped %d card(s) to v%d in %.1f s (%.0f cards/s); %d remaining",
                        result.rewrapped, result.targetVersion, result.seconds, result.rowsPerSecond, result.remaining))
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy a data-key version that no card uses any more.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The version to retire, e.g. 1 or v1.") var version: String

        func run() async throws {
            try await Output.run(json: output.json) {
                guard let number = Int(version.hasPrefix("v") ? String(version.dropFirst()) : version), number > 0 else {
                    throw VaultError.invalid("version", code: .invalidVersion, "version must be a number such as 1 or v1")
                }
                let runtime = try vault.openRuntime()
                try await runtime.keyAdmin.retire(version: number, actor: Output.actor)
                if output.json { Output.json(["retired_version": number]) } else { Output.line("data key v\(number) retired and destroyed") }
            }
        }
    }

    struct RotateMaster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-master", abstract: "Replace the master key and re-wrap the data keys under it.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try vault.openRuntime()
                let id = try await runtime.keyAdmin.rotateMaster(actor: Output.actor)
                if output.json {
                    Output.json(["master_key_id": id])
                } else {
                    Output.line("master key replaced: now \(id) in \(runtime.keys.directory.masterKeyPath); data keys re-wrapped")
                }
            }
        }
    }
}
