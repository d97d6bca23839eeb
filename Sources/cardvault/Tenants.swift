import ArgumentParser
import Foundation
import VaultDomain

/// `cardvault tenants list`: the tenants clients belong to.
struct Tenants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the tenants: a tenant exists once a client belongs to it (`clients add --tenant T --new-tenant`).",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants with their clients' counts.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let tenants = try await runtime.clients.tenants()
                try await runtime.audit.record("tenant.list", subject: nil, outcome: .success, actor: Output.actor)
                if output.json { Output.json(tenants); return }
                Output.line("TENANT            CLIENTS  ACTIVE")
                for t in tenants {
                    Output.line(
                        t.tenant.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)
                            + String(t.clients).padding(toLength: 9, withPad: " ", startingAt: 0)
                            + String(t.activeClients))
                }
            }
        }
    }
}
