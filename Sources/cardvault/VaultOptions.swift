import ArgumentParser
import Foundation
import VaultStorage

/// Where the vault lives; flags override `CARDVAULT_DATABASE` / `CARDVAULT_KEYS_DIR`, which
/// override the defaults.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (env CARDVAULT_DATABASE, default ./data/cardvault.sqlite).")
    var database: String?

    @Option(name: .customLong("keys-dir"), help: "Keys directory holding master.key (env CARDVAULT_KEYS_DIR, default ./keys).")
    var keysDir: String?

    var databasePath: String {
        database ?? ProcessInfo.processInfo.environment["CARDVAULT_DATABASE"] ?? "./data/cardvault.sqlite"
    }

    var keysDirectory: String {
        keysDir ?? ProcessInfo.processInfo.environment["CARDVAULT_KEYS_DIR"] ?? "./keys"
    }

    func openRuntime() throws -> VaultRuntime {
        try VaultRuntime(databasePath: databasePath, keysDirectory: keysDirectory)
    }

    /// Opens the vault and loads its keys (finishing an interrupted `rotate-master`).
    func openLoadedRuntime() async throws -> VaultRuntime {
        let runtime = try openRuntime()
        try await runtime.keyAdmin.load()
        return runtime
    }
}

/// `--json` for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false
}
