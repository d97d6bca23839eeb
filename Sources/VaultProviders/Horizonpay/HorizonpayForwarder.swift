import Foundation
import Logging
import NIOHTTP1
import Synchronization
import VaultCrypto
import VaultDomain

/// Forwards Horizonpay P2P requests whose card objects carry vault tokens: checks them, builds
/// the real `credit_card` / `recipient_card` objects (the only place that ever happens), calls
/// Horizonpay with the shop's credentials, and answers with Horizonpay's status and a redacted
/// body. Transfers consume the source card's pending security code and are never repeated: a
/// retried `Idempotency-Key` replays the first answer.
public struct HorizonpayForwarder: Sendable {
    public let configuration: HorizonpayConfiguration
    let client: ProviderHTTPClient
    let cards: CardVault
    /// Horizonpay's saved card tokens, over the same context as `cards`.
    let tokens: ProviderTokens
    let logger: Logger
    let inFlight: InFlightClaims

    public init(
        configuration: HorizonpayConfiguration, client: ProviderHTTPClient, cards: CardVault, logger: Logger,
        inFlight: InFlightClaims = InFlightClaims()
    ) {
        self.configuration = configuration
        self.client = client
        self.cards = cards
        tokens = ProviderTokens(context: cards.context)
        self.logger = logger
        self.inFlight = inFlight
    }

    public typealias Answer = ProviderAnswer

    static let cardKeys = ["credit_card", "recipient_card"]
    static let forbiddenCardFields = ["number", "verification_value", "exp_month", "exp_year"]

    // MARK: forwarding

    public func forward(_ route: HorizonpayRoute, body: [UInt8], caller: Caller, idempotencyKey given: IdempotencyKey?) async throws -> Answer {
        // Money moves only with a key: without one a lost answer could not be told from a
        // failure, and a retry would pay twice.
        if route.isTransfer && given == nil { throw StoredResponse.keyRequired }
        guard let document = JSONValue.parse(body), document.isObject else {
            throw VaultError.malformed(nil, "the request body must be a JSON object")
        }
        guard let request = document["request"], request.isObject else {
            throw VaultError.malformed("request", "request must be an object")
        }
        // 1. The caller names cards by vault token only.
        var named: [String: CardToken] = [:]
        var holders: [String: String] = [:]
        var useSaved: Set<String> = []
        for key in Self.cardKeys {
            guard let card = request[key] else { continue }
            guard case .object(let fields) = card else {
                throw VaultError.invalid("request.\(key)", code: .invalidCardReference, "\(key) must be an object with a vault token")
            }
            for (field, _) in fields where Self.forbiddenCardFields.contains(field) {
                throw VaultError.invalid(
                    "request.\(key).\(field)", code: .cardDataNotAllowed,
                    "card data comes only from the vault; send {\"token\": \"tok_...\"}")
            }
            for (field, _) in fields where !["token", "holder", "use_saved_token"].contains(field) {
                // The key is the caller's text: named only when it looks like a field name.
                throw VaultError.invalid(
                    "request.\(key).\(VaultError.printableField(field))", code: .unknownField, "\(key) takes only token, holder and use_saved_token")
            }
            switch card["use_saved_token"] {
            case nil, .bool(false)?: break
            case .bool(true)?: useSaved.insert(key)
            default: throw VaultError.malformed("request.\(key).use_saved_token", "use_saved_token must be a boolean")
            }
            guard let text = card["token"]?.stringValue, let token = CardToken(text) else {
                throw VaultError.invalid("request.\(key).token", code: .invalidToken, "\(key).token must be a vault token (tok_...)")
            }
            if let holder = card["holder"] {
                guard let text = holder.stringValue else { throw VaultError.malformed("request.\(key).holder", "holder must be a string") }
                do {
                    holders[key] = try CardHolder(validating: text).name
                } catch {
                    throw VaultError.invalid("request.\(key).holder", code: error.code, error.message)
                }
            }
            named[key] = token
        }
        guard !named.isEmpty else {
            throw VaultError.invalid("request.credit_card", code: .missingField, "name at least one card by its vault token")
        }
        // A transfer names both cards: checked before anything is claimed, read or spent, so a
        // request that cannot succeed never costs the sender's security code.
        if route.isTransfer {
            for key in Self.cardKeys where named[key] == nil {
                throw VaultError.invalid("request.\(key)", code: .missingField, "a transfer needs both credit_card and recipient_card, each with a vault token")
            }
        }
        // 2. A retry replays the first answer; a duplicate still in flight is refused.
        let tracking = request["tracking_id"]?.stringValue.map { ["tracking_id": $0] } ?? [:]
        let idempotency = try ProviderIdempotency(
            operation: .horizonpay(route.rawValue), canonical: body, given: given, caller: caller,
            cards: cards, inFlight: inFlight, movesMoney: route.isTransfer, reference: tracking,
            providerTimeout: configuration.timeout)
        if let replayed = try await idempotency.replay() { return replayed }
        return try await idempotency.holding {
            try await send(
                route, document: document, request: request, named: named, holders: holders, useSaved: useSaved,
                idempotency: idempotency, caller: caller)
        }
    }

    /// Steps 3 to 7 of `forward`, while this call holds the idempotency claim.
    private func send(
        _ route: HorizonpayRoute, document: JSONValue, request: JSONValue, named: [String: CardToken], holders: [String: String],
        useSaved: Set<String>, idempotency: ProviderIdempotency, caller: Caller
    ) async throws -> Answer {
        var document = document
        var request = request

        // 3. The cards, read and audited, and the idempotency key claimed in the same commit,
        //    before anything leaves the vault.
        let now = idempotency.now
        let loaded = try await cards.cardsForProvider(
            Array(Set(named.values)), action: route.auditAction + ".card", caller: caller, alongside: idempotency.claim)
        // Saved Horizonpay tokens asked for, looked up before the code is taken; a failure here
        // frees the key again.
        var saved: [String: String] = [:]
        do {
            for key in useSaved {
                guard let token = named[key], let value = try await tokens.providerToken(provider: Self.provider, for: token, caller: caller) else {
                    throw VaultError.invalid("request.\(key).use_saved_token", code: .noSavedToken, "no Horizonpay token is stored for this card")
                }
                saved[key] = value
            }
        } catch {
            try await idempotency.release()
            throw error
        }

        // 5. Take the code (at most one call uses it) and build the real card objects. Checked
        //    after the claim, so that a concurrent duplicate is told "in flight", not "no code".
        var taken: SecurityCode?
        var codeExpiry: Date?
        if route.isTransfer, let source = named["credit_card"] {
            do {
                if let pending = try await cards.codes.take(for: source, tenant: caller.tenant, now: now) {
                    (taken, codeExpiry) = (pending.code, pending.expiresAt)
                }
            } catch {
                try await idempotency.release()
                throw error
            }
            if taken == nil {
                try await idempotency.release()
                throw VaultError.invalid(
                    "request.credit_card", code: .verificationValueRequired,
                    "no pending security code for the source card; PATCH /v1/cards/{token} with verification_value first")
            }
        }
        let savedTokens = Array(saved.values)
        for (key, token) in named {
            guard let card = loaded[token] else { continue }
            let code = key == "credit_card" ? taken : nil
            if let saved = saved[key] {
                // The Horizonpay token captured from an earlier answer stands in for the card data.
                var fields: [(String, JSONValue)] = [("token", .string(saved))]
                if let name = holders[key] ?? card.data.holder?.name { fields.append(("holder", .string(name))) }
                if let code { fields.append(("verification_value", .sensitive(code.bytes.withUnsafeBytes { SensitiveBytes(copying: $0) }))) }
                request.set(key, .object(fields))
            } else {
                request.set(key, Self.cardObject(card.data, holder: holders[key], code: code))
            }
        }
        document.set("request", request)

        // 6. Call Horizonpay.
        let base = route.usesGateway ? configuration.gatewayURL : configuration.checkoutURL
        var headers: [(String, String)] = [("Accept", "application/json")]
        if route.usesGateway {
            headers.append(("Authorization", configuration.basicAuthorization))
        } else {
            headers.append(("Authorization", configuration.bearerAuthorization))
            headers.append(("X-Api-Version", "2"))
        }
        let reply: ProviderHTTPClient.Reply
        do {
            reply = try await self.client.send(.POST, url: base.appending(route.upstreamPath), headers: headers, json: document, timeout: configuration.timeout)
        } catch {
            if error.nothingSent {
                // Nothing left the vault: the code stays pending and the key may be retried.
                if let taken, let source = named["credit_card"] {
                    await cards.codes.giveBack(
                        taken, for: source, tenant: caller.tenant, expiresAt: codeExpiry ?? now.addingTimeInterval(cards.codes.timeToLive), now: now)
                }
                try await idempotency.release()
            } else {
                taken?.bytes.wipe()
                try await idempotency.fail(error)
            }
            try await audit(route, named, status: nil, uid: nil, outcome: .failure, caller: caller)
            throw error.vaultError
        }
        taken?.bytes.wipe()

        // 7. Redact and answer.
        var answer: JSONValue
        do {
            answer = try reply.document()
        } catch {
            try await idempotency.fail(error)
            try await audit(route, named, status: reply.status, uid: nil, outcome: .failure, caller: caller)
            throw error.vaultError
        }
        let labels = named.compactMapValues { loaded[$0].map(CardLabel.init) }
        let captured = try await capture(answer, cards: labels, caller: caller)
        let pans = loaded.values.map { card in (card.data.pan.withDigits { SensitiveBytes(copying: $0) }, card.data.pan.masked) }
        answer = Self.redact(answer, cards: labels, scrub: pans + (captured + savedTokens).map { (SensitiveBytes(copying: $0.utf8), "<redacted>") })
        let redacted = Answer(status: reply.status, body: answer.bytes)
        let uid = answer["transaction"]?["uid"]?.stringValue
        // The answer recorded for retries, the cards of the transaction or job (for its later
        // result and notifications) and the audit row, in one commit.
        let objects = ProviderObjects(keys: try cards.keys.derivedKeys())
        let ids = [uid, answer["job_id"]?.stringValue].compactMap { $0 }.filter(Self.isCallReference)
        let record = idempotency.record(redacted)
        try await audit(route, named, status: reply.status, uid: uid, outcome: reply.status < 400 ? .success : .failure, caller: caller) { tx in
            try record?(tx)
            for id in ids { try objects.remember(id, cards: labels, provider: Self.provider, tenant: caller.tenant, at: now, in: tx) }
        }
        return redacted
    }

    /// `GET /ctp/api/async/jobs/{job_id}`, redacted like every answer, for a job the caller's
    /// tenant started through the vault. Any other id (unknown, or another tenant's) is
    /// `job_not_found` before Horizonpay is called.
    public func job(_ id: String, caller: Caller) async throws -> Answer {
        guard (1...64).contains(id.utf8.count), Base64URL.isAlphabet(Substring(id)) else {
            throw VaultError.invalid("job_id", code: .invalidJobId, "job_id is not valid")
        }
        try await cards.confirm(caller, action: "horizonpay.job")
        guard let labels = try await ownedCall(id, caller: caller) else {
            try await cards.auditProviderCall(action: "horizonpay.job", subject: "\(Self.auditable(id))|not_found", outcome: .failure, caller: caller)
            throw Self.jobNotFound
        }
        let headers = [("Accept", "application/json"), ("Authorization", configuration.bearerAuthorization), ("X-Api-Version", "2")]
        let reply: ProviderHTTPClient.Reply
        do {
            reply = try await client.send(
                .GET, url: configuration.checkoutURL.appending("/ctp/api/async/jobs/" + id), headers: headers, json: nil, timeout: configuration.timeout)
        } catch {
            throw error.vaultError
        }
        let answer: JSONValue
        do {
            answer = try reply.document()
        } catch {
            throw error.vaultError
        }
        let captured = try await capture(answer, cards: labels, caller: caller)
        let redacted = Self.redact(answer, cards: labels, scrub: captured.map { (SensitiveBytes(copying: $0.utf8), "<redacted>") })
        try await cards.auditProviderCall(
            action: "horizonpay.job", subject: "\(Self.auditable(id))|status=\(reply.status)", outcome: reply.status < 400 ? .success : .failure, caller: caller
        )
        return Answer(status: reply.status, body: redacted.bytes)
    }

    /// A notification passed on by the edge service: signature checked (when a webhook key is
    /// configured), Horizonpay card tokens captured for the transaction's cards, and the body
    /// returned redacted.
    public func notification(body: [UInt8], signature: String?, caller: Caller) async throws -> Answer {
        try await cards.confirm(caller, action: "horizonpay.notification")
        guard configuration.webhookKey != nil || configuration.allowUnsignedNotifications else { throw Self.notificationsNotConfigured }
        if let verifier = configuration.webhookKey {
            do {
                try verifier.verify(body: body, signature: signature)
            } catch {
                try await cards.auditProviderCall(action: "horizonpay.notification", subject: error.code.rawValue, outcome: .denied, caller: caller)
                throw error
            }
        }
        guard let document = JSONValue.parse(body), document.isObject else {
            throw VaultError.malformed(nil, "the notification body must be a JSON object")
        }
        let uid = document["transaction"]?["uid"]?.stringValue
        let status = document["transaction"]?["status"]?.stringValue ?? ""
        // A notification already processed (same transaction and status, same tenant) is
        // answered as before and changes nothing: a replayed webhook cannot store a token again.
        let objects = ProviderObjects(keys: try cards.keys.derivedKeys())
        let replayKey = uid.map { objects.notificationKey(tenant: caller.tenant, uid: $0, status: status) }
        if let replayKey, let stored = try await cards.store.read({ try $0.providerNotification(key: replayKey) }),
            let earlier = objects.openNotification(stored, key: replayKey)
        {
            try await cards.auditProviderCall(
                action: "horizonpay.notification", subject: "replay|uid=\(uid.map(Self.auditable) ?? "none")",
                outcome: .success, caller: caller)
            return Answer(status: 200, body: earlier)
        }
        // Cards are named only for a transaction this tenant started through the vault.
        var labels: [String: CardLabel] = [:]
        if let uid { labels = try await ownedCall(uid, caller: caller) ?? [:] }
        let captured = try await capture(document, cards: labels, caller: caller)
        let redacted = Answer(
            status: 200, body: Self.redact(document, cards: labels, scrub: captured.map { (SensitiveBytes(copying: $0.utf8), "<redacted>") }).bytes)
        let now = cards.clock()
        try await cards.auditProviderCall(
            action: "horizonpay.notification", subject: "uid=\(uid.map(Self.auditable) ?? "none")",
            outcome: .success, caller: caller
        ) { tx in
            if let replayKey { try tx.saveProviderNotification(key: replayKey, answer: objects.sealNotification(redacted.body, key: replayKey), at: now) }
        }
        return redacted
    }

    static let notificationsNotConfigured = VaultError(
        .unavailable, code: .notificationsNotConfigured,
        message: "set HORIZONPAY_WEBHOOK_PUBLIC_KEY so notifications can be verified (HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS=1 is for the simulator)")

    // MARK: pieces

    static let provider = "horizonpay"

    /// A transaction uid or job id the vault remembers (by keyed hash): 1 to 64 characters of a
    /// uuid / token alphabet.
    static func isCallReference(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && Base64URL.isAlphabet(Substring(text))
    }

    /// The vault cards a transaction or job of the caller's tenant was started with (empty for
    /// one started without cards); nil when the tenant did not start it through the vault.
    func ownedCall(_ id: String, caller: Caller) async throws -> [String: CardLabel]? {
        guard Self.isCallReference(id) else { return nil }
        let (objects, tenant) = (ProviderObjects(keys: try cards.keys.derivedKeys()), caller.tenant)
        return try await cards.store.read { try objects.owned(id, provider: Self.provider, tenant: tenant, in: $0) }
    }

    public static let jobNotFound = VaultError(
        .notFound, code: .jobNotFound, message: "no async job with this id was started through the vault for this tenant", field: "job_id")

    /// Text from outside (a job id, a transaction uid) as it may appear in an audit row: at most
    /// 64 characters, with any card number in it masked.
    static func auditable(_ text: String) -> String {
        PANScrubber.scrub(String(text.prefix(64)))
    }

    /// Stores every Horizonpay card token in `answer` against the vault card it belongs to;
    /// returns the token values (to be scrubbed from the answer wherever else they appear).
    func capture(_ answer: JSONValue, cards labels: [String: CardLabel], caller: Caller) async throws -> [String] {
        var found: [(String, String)] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let fields):
                for (k, v) in fields {
                    if Self.cardKeys.contains(k), let token = v["token"]?.stringValue { found.append((k, token)) }
                    walk(v)
                }
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(answer)
        for (key, value) in found {
            guard let label = labels[key], let card = CardToken(label.token) else { continue }
            try await tokens.captureProviderToken(value, provider: Self.provider, for: card, caller: caller)
        }
        return found.map(\.1)
    }

    /// A card object as the seed defines it: number, two-digit month, four-digit year, holder,
    /// and the security code for the source card of a transfer.
    static func cardObject(_ data: CardData, holder: String?, code: SecurityCode?) -> JSONValue {
        var fields: [(String, JSONValue)] = []
        data.pan.withDigits { fields.append(("number", .sensitive(SensitiveBytes(copying: $0)))) }
        fields.append(("exp_month", .string(data.expiry.monthText)))
        fields.append(("exp_year", .string(data.expiry.yearText)))
        if let name = holder ?? data.holder?.name { fields.append(("holder", .string(name))) }
        if let code { fields.append(("verification_value", .sensitive(code.bytes.withUnsafeBytes { SensitiveBytes(copying: $0) }))) }
        return .object(fields)
    }

    /// Removes `number`, `verification_value`, `token` and `stamp` from every card object at
    /// any depth, puts the vault token and fingerprint in their place, replaces the `scrub`
    /// values wherever they still appear, and masks any card number left in a string.
    static func redact(_ value: JSONValue, cards: [String: CardLabel], scrub pans: [(pan: SensitiveBytes, masked: String)]) -> JSONValue {
        func walk(_ value: JSONValue, key: String?) -> JSONValue {
            switch value {
            case .object(let fields):
                var out: [(String, JSONValue)] = []
                for (k, v) in fields {
                    if Self.cardKeys.contains(k), case .object = v {
                        var card = walk(v, key: k)
                        for f in ["number", "verification_value", "token", "stamp"] { card.set(f, nil) }
                        if let known = cards[k] {
                            card.set("token", .string(known.token))
                            card.set("fingerprint", .string(known.fingerprint))
                        }
                        out.append((k, card))
                    } else {
                        // Keys are text from outside too.
                        out.append((PANScrubber.scrub(k), walk(v, key: k)))
                    }
                }
                return .object(out)
            case .array(let items): return .array(items.map { walk($0, key: key) })
            case .string(var s):
                // A byte search: Foundation's String.contains bridges through NSString on Linux,
                // and the card numbers stay out of Swift strings.
                for (pan, masked) in pans where pan.count > 0 {
                    if let replaced = pan.withUnsafeBytes({ Self.replacing($0, with: masked, in: s) }) { s = replaced }
                }
                return .string(PANScrubber.scrub(s))
            default: return value.maskingCardNumber
            }
        }
        return walk(value, key: nil)
    }

    /// `text` with every occurrence of `needle` replaced, or nil when it has none.
    static func replacing(_ needle: UnsafeBufferPointer<UInt8>, with replacement: String, in text: String) -> String? {
        let haystack = Array(text.utf8)
        guard haystack.count >= needle.count, haystack.firstRange(of: needle) != nil else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(haystack.count)
        var i = 0
        while i < haystack.count {
            if i + needle.count <= haystack.count, haystack[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: replacement.utf8)
                i += needle.count
            } else {
                out.append(haystack[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func audit(
        _ route: HorizonpayRoute, _ named: [String: CardToken], status: Int?, uid: String?, outcome: AuditOutcome, caller: Caller,
        alongside: (@Sendable (any VaultTransaction) throws -> Void)? = nil
    ) async throws {
        var subject = Self.cardKeys.compactMap { named[$0]?.rawValue }.joined(separator: ",")
        subject += "|status=\(status.map(String.init) ?? "none")"
        if let uid { subject += "|uid=\(Self.auditable(uid))" }
        try await cards.auditProviderCall(action: route.auditAction, subject: subject, outcome: outcome, caller: caller, alongside: alongside)
    }
}
