import Foundation
import NIOHTTP1
import VaultDomain

/// One forwarded provider call, in the order every call takes, whichever the provider:
///
/// 1. a retry replays the first answer (a duplicate still in flight is refused);
/// 2. commit 1 (`ProviderCallLedger.release`): the credential confirmed, the cards, saved
///    tokens, references and the named provider object read and their release audited, the
///    idempotency key claimed;
/// 3. the pending security code taken, when the call sends one;
/// 4. the request built and sent;
/// 5. commit 2 (`ProviderCallLedger.settle`): the outcome recorded (answer, failure or release
///    of the claim, captured tokens and references) with its audit row.
///
/// At most two commits whatever the answer. A forwarder supplies only what differs: the
/// release it needs, how to build the request, and what its answer leaves behind.
struct ProviderCall: Sendable {
    /// The request as it leaves the vault.
    struct Outgoing: Sendable {
        let method: HTTPMethod
        let url: String
        let headers: [(String, String)]
        let json: JSONValue?
    }

    /// What a forwarder's settlement answers: the redacted answer and the subject of the
    /// outcome's audit row.
    struct Settled: Sendable {
        let answer: ProviderAnswer
        let subject: String
    }

    let ledger: ProviderCallLedger
    let client: ProviderHTTPClient
    let caller: Caller
    let release: ProviderCallRelease
    let idempotency: ProviderIdempotency?
    let timeout: Duration
    /// The card whose pending security code the call sends (a transfer's source card).
    var codeFor: CardToken?

    /// Runs the call. `failureSubject` names the audit subject of a call that got no usable
    /// answer (the provider's status, when there was one); `settle` runs inside commit 2 with
    /// the provider's status and JSON.
    func run(
        build: (ProviderCallReleased, SecurityCode?) throws -> Outgoing,
        failureSubject: @escaping @Sendable (Int?) -> String,
        settle: @escaping @Sendable (Int, JSONValue, ProviderCallReleased, ProviderCallSettlement) throws -> Settled
    ) async throws -> ProviderAnswer {
        if let replayed = try await idempotency?.replay() { return replayed }
        guard let idempotency else { return try await send(build: build, failureSubject: failureSubject, settle: settle) }
        return try await idempotency.holding { try await send(build: build, failureSubject: failureSubject, settle: settle) }
    }

    private func send(
        build: (ProviderCallReleased, SecurityCode?) throws -> Outgoing,
        failureSubject: @escaping @Sendable (Int?) -> String,
        settle: @escaping @Sendable (Int, JSONValue, ProviderCallReleased, ProviderCallSettlement) throws -> Settled
    ) async throws -> ProviderAnswer {
        let (action, idempotency, codes, tenant) = (release.action, idempotency, ledger.codes, caller.tenant)
        let released = try await ledger.release(release, caller: caller, claim: idempotency?.claim)

        // The code is taken after the claim, so that a concurrent duplicate is told "in
        // flight", not "no code"; a call that cannot have it frees the key again.
        var taken: (code: SecurityCode, expiresAt: Date)?
        if let source = codeFor {
            do {
                taken = try await codes.take(for: source, tenant: tenant, now: ledger.clock())
            } catch {
                try await outcome(failureSubject(nil)) { tx in try idempotency?.releasing(in: tx) }
                throw error
            }
            guard taken != nil else {
                try await outcome(failureSubject(nil) + "|no_code") { tx in try idempotency?.releasing(in: tx) }
                throw Self.noPendingCode
            }
        }
        let outgoing: Outgoing
        do {
            outgoing = try build(released, taken?.code)
        } catch {
            taken?.code.bytes.wipe()
            try await outcome(failureSubject(nil)) { tx in try idempotency?.releasing(in: tx) }
            throw error
        }

        let reply: ProviderHTTPClient.Reply
        do {
            reply = try await client.send(outgoing.method, url: outgoing.url, headers: outgoing.headers, json: outgoing.json, timeout: timeout)
        } catch {
            if error.nothingSent {
                // Nothing left the vault: the code stays pending and the key may be retried.
                if let taken, let source = codeFor {
                    await codes.giveBack(taken.code, for: source, tenant: tenant, expiresAt: taken.expiresAt, now: ledger.clock())
                }
                try await outcome(failureSubject(nil)) { tx in try idempotency?.releasing(in: tx) }
            } else {
                taken?.code.bytes.wipe()
                try await outcome(failureSubject(nil)) { tx in try idempotency?.failing(error, in: tx) }
            }
            throw error.vaultError
        }
        taken?.code.bytes.wipe()

        let document: JSONValue
        do {
            document = try reply.document()
        } catch {
            try await outcome(failureSubject(reply.status)) { tx in try idempotency?.failing(error, in: tx) }
            throw error.vaultError
        }
        let status = reply.status
        return try await ledger.settle(caller: caller) { settlement in
            let settled = try settle(status, document, released, settlement)
            try idempotency?.recording(settled.answer, in: settlement.transaction)
            try settlement.audit(action: action, subject: settled.subject, outcome: status < 400 ? .success : .failure)
            return settled.answer
        }
    }

    /// Commit 2 of a call that got no usable answer: `record` (the idempotency outcome) and a
    /// failure audit row.
    private func outcome(_ subject: String, _ record: @escaping @Sendable (any VaultTransaction) throws -> Void) async throws {
        let action = release.action
        try await ledger.settle(caller: caller) { settlement in
            try record(settlement.transaction)
            try settlement.audit(action: action, subject: subject, outcome: .failure)
        }
    }

    static let noPendingCode = VaultError.invalid(
        "request.credit_card", code: .verificationValueRequired,
        "no pending security code for the source card; PATCH /v1/cards/{token} with verification_value first")
}
