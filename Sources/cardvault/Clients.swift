import ArgumentParser
import Foundation
import VaultDomain

/// `cardvault clients ...`: service credentials.
struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the services allowed to call the vault.",
        subcommands: [Add.self, List.self, Revoke.self, RotateSecret.self]
    )

    struct SecretReport: Encodable {
        let client: Client
        let secret: String
    }

    struct Add: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "Register a client; prints its secret once.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Client name (letters, digits, - _ .).") var name: String
        @Option(help: "Comma-separated scopes: \(Scope.known.map(\.rawValue).joined(separator: ", ")).") var scopes: String
        @Option(help: "The tenant whose cards the client sees and touches (lower-case letters, digits, - _).") var tenant = Tenant.default.rawValue
        @Flag(name: .customLong("new-tenant"), help: "Start the tenant with this client (without it a tenant no client belongs to is refused).")
        var newTenant = false

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let (client, secret) = try await runtime.clients.add(
                    name: name, scopes: scopes.split(separator: ",").map(String.init), tenant: tenant, newTenant: newTenant, actor: Output.actor)
                if output.json { Output.json(SecretReport(client: client, secret: secret.revealed)); return }
                Output.line(
                    "client \(client.name) (\(client.id)) in tenant \(client.tenant) with scopes \(client.scopes.sorted().map(\.rawValue).joined(separator: ","))"
                )
                Output.line("secret (shown once, store it now): \(secret.revealed)")
            }
        }
    }

    struct List: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "List clients.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let clients = try await runtime.clients.list()
                try await runtime.audit.record("client.list", subject: nil, outcome: .success, actor: Output.actor)
                if output.json { Output.json(clients); return }
                Output.line("NAME                 TENANT           STATE    SCOPES")
                for c in clients {
                    let state = c.failedIntegrityCheck ? "FAILED   " : c.isActive ? "active   " : "revoked  "
                    Output.line(
                        c.name.padding(toLength: 21, withPad: " ", startingAt: 0) + c.tenant.rawValue.padding(toLength: 17, withPad: " ", startingAt: 0)
                            + state + c.scopes.sorted().map(\.rawValue).joined(separator: ","))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a client; effective at its next request.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let client = try await runtime.clients.revoke(name: name, actor: Output.actor)
                if output.json { Output.json(client) } else { Output.line("client \(client.name) revoked") }
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-secret", abstract: "Issue a new secret; the old one stops working.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let (client, secret) = try await runtime.clients.rotateSecret(name: name, actor: Output.actor)
                if output.json { Output.json(SecretReport(client: client, secret: secret.revealed)); return }
                Output.line("new secret for \(client.name) (shown once): \(secret.revealed)")
            }
        }
    }
}
