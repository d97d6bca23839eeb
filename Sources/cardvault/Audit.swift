import ArgumentParser
import Foundation
import VaultDomain
import VaultHTTP

/// `cardvault audit ...`: the tamper-evident log.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and read the audit log.",
        subcommands: [Verify.self, Tail.self]
    )

    struct Verify: AsyncParsableCommand, RemoteAdminCommand {
        static let configuration = CommandConfiguration(abstract: "Check the hash chain; exits non-zero on any changed, deleted or reordered row.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(
            help:
                "An anchor file of signed checkpoints (CARDVAULT_AUDIT_ANCHOR_FILE): also fail when rows it names were removed or replaced, or the database is an older copy."
        )
        var anchor: String?
        @Option(
            help: ArgumentHelp(
                "The point in time the database was restored to (RFC 3339, e.g. 2026-12-07T20:31:05Z): checkpoints signed after it that the database does not hold are reported as the cut tail, not as a break.",
                valueName: "time"))
        var until: String?

        /// `--until` as a date; RFC 3339 with or without fractional seconds.
        func untilDate() throws -> Date? {
            guard let until else { return nil }
            guard anchor != nil else { throw ValidationError("--until needs --anchor: it says which of the anchor's checkpoints a restore cut off") }
            for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = options
                if let date = formatter.date(from: until) { return date }
            }
            throw ValidationError("--until: \(until) is not an RFC 3339 time such as 2026-12-07T20:31:05Z")
        }

        /// The checkpoints of an anchor file, one JSON line each.
        func checkpoints() throws -> [AuditCheckpoint] {
            guard let anchor else { return [] }
            guard let data = FileManager.default.contents(atPath: anchor) else { throw ValidationError("cannot read \(anchor)") }
            let (out, torn) = AuditAnchorFile.checkpoints(in: String(decoding: data, as: UTF8.self))
            // A torn line (a full disk, a crash mid-write) proves nothing and hides nothing: the
            // checkpoints around it still hold. Named, then skipped.
            for line in torn {
                Output.status("warning: line \(line) of \(anchor) is not a whole audit checkpoint (torn by a failed write?): skipped\n")
            }
            // An anchor with nothing in it proves nothing: saying "intact" would be a false comfort
            // (a truncated or wrong file).
            guard !out.isEmpty else {
                throw ValidationError("\(anchor) holds no audit checkpoint; point --anchor at the server's CARDVAULT_AUDIT_ANCHOR_FILE")
            }
            return out
        }

        struct Report: Encodable {
            let intact: Bool
            let rows: Int?
            let brokenAt: Int64?
            let reason: String?
            /// Rows committed and not yet sequenced (PostgreSQL).
            let queued: Int
            /// Checkpoints of the anchor file the database holds.
            let anchored: Int?
            let cutTail: CutTail?
            enum CodingKeys: String, CodingKey {
                case intact, rows, reason, queued, anchored
                case brokenAt = "broken_at"
                case cutTail = "cut_tail"
            }
        }

        struct CutTail: Encodable {
            let checkpoints: Int
            let firstSeq: Int64
            let lastSeq: Int64
            let firstAt: String
            let lastAt: String
            enum CodingKeys: String, CodingKey {
                case checkpoints
                case firstSeq = "first_seq"
                case lastSeq = "last_seq"
                case firstAt = "first_at"
                case lastAt = "last_at"
            }
        }

        func run() async throws {
            try await Output.run(json: output.json) {
                let restoredTo = try untilDate()
                let anchors = try checkpoints()
                let runtime = try await vault.openLoadedRuntime()
                var result = try await runtime.audit.verify(actor: Output.actor)
                var anchored: AuditAnchorVerification?
                if case .intact = result, !anchors.isEmpty {
                    let held = try await runtime.audit.verify(anchors: anchors, until: restoredTo)
                    if let broken = held.broken { result = .broken(seq: broken.seq, reason: broken.reason) }
                    anchored = held
                }
                let tail = anchored?.cutTail.map {
                    CutTail(checkpoints: $0.checkpoints, firstSeq: $0.firstSeq, lastSeq: $0.lastSeq, firstAt: $0.firstAt, lastAt: $0.lastAt)
                }
                // PostgreSQL: rows committed but not yet given their place (checked in their lanes).
                let queued = try await runtime.audit.queued(limit: 5)
                switch result {
                case .intact(let rows):
                    try await runtime.audit.record("audit.verify", subject: "intact:\(rows)", outcome: .success, actor: Output.actor)
                    if output.json {
                        Output.json(
                            Report(
                                intact: true, rows: rows, brokenAt: nil, reason: nil, queued: queued.count, anchored: anchored?.held,
                                cutTail: tail))
                    } else {
                        Output.line("audit log intact: \(rows) row(s) verified")
                        if let anchored { Output.line("anchor: \(anchored.held) checkpoint(s) held") }
                        if let tail, let until = self.until {
                            Output.line(
                                "anchor: \(tail.checkpoints) checkpoint(s) signed after \(until) (rows \(tail.firstSeq) to \(tail.lastSeq), \(tail.firstAt) to \(tail.lastAt)) "
                                    + "name rows this database does not hold: the tail the restore to that point cut off")
                        }
                        if queued.count > 0 {
                            Output.line(
                                "\(queued.count) row(s) committed and not yet sequenced (verified in their lanes; a running server sequences them within a second):"
                            )
                            for row in queued.oldest { Output.line("  \(row.position)  \(row.entry.at)  \(row.entry.action)") }
                        }
                    }
                case .broken(let seq, let reason):
                    if output.json {
                        Output.json(
                            Report(
                                intact: false, rows: nil, brokenAt: seq, reason: reason, queued: queued.count, anchored: anchored?.held,
                                cutTail: nil))
                    } else {
                        FileHandle.standardError.write(Data("audit log BROKEN at row \(seq): \(reason)\n".utf8))
                    }
                    throw ExitCode(2)
                }
            }
        }
    }

    struct Tail: AsyncParsableCommand, RemoteAdminCommand {
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
                Output.line(["SEQ", "AT", "CLIENT", "ACTION", "SUBJECT", "OUTCOME", "REQUEST", "SOURCE"].joined(separator: "  "))
                for r in rows {
                    Output.line(
                        [String(r.seq), r.at, r.client ?? "-", r.action, r.subject ?? "-", r.outcome, r.requestID ?? "-", r.source ?? "-"].joined(
                            separator: "  "))
                }
            }
        }
    }
}
