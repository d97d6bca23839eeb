import ArgumentParser
import Foundation
import VaultDomain

/// `cardvault audit ...`: the tamper-evident log.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and read the audit log.",
        subcommands: [Verify.self, Tail.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the hash chain; exits non-zero on any changed, deleted or reordered row.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            let intact: Bool
            let rows: Int?
            let brokenAt: Int64?
            let reason: String?
            enum CodingKeys: String, CodingKey {
                case intact, rows, reason
                case brokenAt = "broken_at"
            }
        }

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let result = try await runtime.audit.verify(actor: Output.actor)
                switch result {
                case .intact(let rows):
                    try await runtime.audit.record("audit.verify", subject: "intact:\(rows)", outcome: .success, actor: Output.actor)
                    if output.json {
                        Output.json(Report(intact: true, rows: rows, brokenAt: nil, reason: nil))
                    } else {
                        Output.line("audit log intact: \(rows) row(s) verified")
                    }
                case .broken(let seq, let reason):
                    if output.json {
                        Output.json(Report(intact: false, rows: nil, brokenAt: seq, reason: reason))
                    } else {
                        FileHandle.standardError.write(Data("audit log BROKEN at row \(seq): \(reason)\n".utf8))
                    }
                    throw ExitCode(2)
                }
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the newest audit rows.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .short, help: "How many rows.") var n = 20

        func run() async throws {
            try await Output.run(json: output.json) {
                let runtime = try await vault.openLoadedRuntime()
                let rows = try await runtime.audit.tail(limit: n)
                try await runtime.audit.record("audit.tail", subject: "\(rows.count)", outcome: .success, actor: Output.actor)
                if output.json { Output.json(rows); return }
                for r in rows {
                    Output.line(
                        [String(r.seq), r.at, r.client ?? "-", r.action, r.subject ?? "-", r.outcome, r.requestID ?? "-", r.source ?? "-"].joined(
                            separator: "  "))
                }
            }
        }
    }
}
