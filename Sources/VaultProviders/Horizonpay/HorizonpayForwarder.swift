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
    /// The two commits of every call, over the same context as `cards`.
    let ledger: ProviderCallLedger
    let logger: Logger
    let inFlight: InFlightClaims

    public init(
        configuration: HorizonpayConfiguration, client: ProviderHTTPClient, cards: CardVault, logger: Logger,
        inFlight: InFlightClaims = InFlightClaims()
    ) {
        self.configuration = configuration
        self.client = client
        self.cards = cards
        ledger = ProviderCallLedger(context: cards.context)
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
        let (named, holders, useSaved) = try Self.namedCards(in: request)
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
        // 2. The call, on the pipeline every provider call takes (`ProviderCall`).
        let tracking = request["tracking_id"]?.stringValue.map { ["tracking_id": $0] } ?? [:]
        let idempotency = try ProviderIdempotency(
            operation: .horizonpay(route.rawValue), canonical: body, given: given, caller: caller,
            cards: cards, inFlight: inFlight, movesMoney: route.isTransfer, reference: tracking,
            providerTimeout: configuration.timeout)
        var release = ProviderCallRelease(action: route.auditAction)
        release.cards = Array(Set(named.values))
        for key in Self.cardKeys where useSaved.contains(key) {
            guard let token = named[key] else { continue }
            release.providerTokens.append(
                .init(
                    card: token, provider: Self.provider,
                    missing: .invalid("request.\(key).use_saved_token", code: .noSavedToken, "no Horizonpay token is stored for this card")))
        }
        var call = ProviderCall(
            ledger: ledger, client: client, caller: caller, release: release, idempotency: idempotency, timeout: configuration.timeout)
        if route.isTransfer { call.codeFor = named["credit_card"] }
        let subject = Self.cardKeys.compactMap { named[$0]?.rawValue }.joined(separator: ",")
        let configuration = configuration
        return try await call.run(
            build: { released, code in
                // 3. The real card objects (or the saved Horizonpay token standing in for one).
                var (document, request) = (document, request)
                for (key, token) in named {
                    guard let card = released.cards[token] else { continue }
                    let code = key == "credit_card" ? code : nil
                    if useSaved.contains(key), let saved = released.providerTokens[token] {
                        var fields: [(String, JSONValue)] = [("token", .string(saved))]
                        if let name = holders[key] ?? card.data.holder?.name { fields.append(("holder", .string(name))) }
                        if let code { fields.append(("verification_value", .sensitive(code.bytes.withUnsafeBytes { SensitiveBytes(copying: $0) }))) }
                        request.set(key, .object(fields))
                    } else {
                        request.set(key, Self.cardObject(card.data, holder: holders[key], code: code))
                    }
                }
                document.set("request", request)
                return Self.outgoing(route, document: document, configuration: configuration)
            },
            failureSubject: { status in subject + "|status=\(status.map(String.init) ?? "none")" },
            settle: { status, answer, released, settlement in
                // 4. Provider tokens captured, the answer redacted, the transaction or job
                //    remembered with its cards (for its later result and notifications).
                let labels = named.compactMapValues { released.cards[$0].map(CardLabel.init) }
                let captured = try Self.capture(answer, cards: labels, in: settlement)
                let pans = released.cards.values.map { card in (card.data.pan.withDigits { SensitiveBytes(copying: $0) }, card.data.pan.masked) }
                let saved = Array(released.providerTokens.values)
                let redacted = Self.redact(answer, cards: labels, scrub: pans + (captured + saved).map { (SensitiveBytes(copying: $0.utf8), "<redacted>") })
                let uid = redacted["transaction"]?["uid"]?.stringValue
                for id in [uid, redacted["job_id"]?.stringValue].compactMap({ $0 }).filter(Self.isCallReference) {
                    try settlement.remember(id, cards: labels, provider: Self.provider)
                }
                var text = subject + "|status=\(status)"
                if let uid { text += "|uid=\(Self.auditable(uid))" }
                return ProviderCall.Settled(answer: Answer(status: status, body: redacted.bytes), subject: text)
            })
    }

    /// The cards a request names: the vault token of each card object, the holder it sets,
    /// and whether it asks for the saved Horizonpay token. Card data or other fields in a card
    /// object are refused, naming the field.
    static func namedCards(in request: JSONValue) throws(VaultError) -> (named: [String: CardToken], holders: [String: String], useSaved: Set<String>) {
        var named: [String: CardToken] = [:]
        var holders: [String: String] = [:]
        var useSaved: Set<String> = []
        for key in Self.cardKeys {
            guard let card = request[key] else { continue }
            guard case .object(let fields) = card else {
                throw .invalid("request.\(key)", code: .invalidCardReference, "\(key) must be an object with a vault token")
            }
            for (field, _) in fields where Self.forbiddenCardFields.contains(field) {
                throw .invalid(
                    "request.\(key).\(field)", code: .cardDataNotAllowed,
                    "card data comes only from the vault; send {\"token\": \"tok_...\"}")
            }
            for (field, _) in fields where !["token", "holder", "use_saved_token"].contains(field) {
                // The key is the caller's text: named only when it looks like a field name.
                throw .invalid(
                    "request.\(key).\(VaultError.printableField(field))", code: .unknownField, "\(key) takes only token, holder and use_saved_token")
            }
            switch card["use_saved_token"] {
            case nil, .bool(false)?: break
            case .bool(true)?: useSaved.insert(key)
            default: throw .malformed("request.\(key).use_saved_token", "use_saved_token must be a boolean")
            }
            guard let text = card["token"]?.stringValue, let token = CardToken(text) else {
                throw .invalid("request.\(key).token", code: .invalidToken, "\(key).token must be a vault token (tok_...)")
            }
            if let holder = card["holder"] {
                guard let text = holder.stringValue else { throw .malformed("request.\(key).holder", "holder must be a string") }
                do {
                    holders[key] = try CardHolder(validating: text).name
                } catch {
                    throw .invalid("request.\(key).holder", code: error.code, error.message)
                }
            }
            named[key] = token
        }
        return (named, holders, useSaved)
    }

    /// The request to Horizonpay: the gateway with basic authorization, or checkout with the
    /// bearer key and API version 2.
    static func outgoing(_ route: HorizonpayRoute, document: JSONValue, configuration: HorizonpayConfiguration) -> ProviderCall.Outgoing {
        let base = route.usesGateway ? configuration.gatewayURL : configuration.checkoutURL
        var headers: [(String, String)] = [("Accept", "application/json")]
        if route.usesGateway {
            headers.append(("Authorization", configuration.basicAuthorization))
        } else {
            headers.append(("Authorization", configuration.bearerAuthorization))
            headers.append(("X-Api-Version", "2"))
        }
        return ProviderCall.Outgoing(method: .POST, url: base.appending(route.upstreamPath), headers: headers, json: document)
    }

    /// `GET /ctp/api/async/jobs/{job_id}`, redacted like every answer, for a job the caller's
    /// tenant started through the vault. Any other id (unknown, or another tenant's) is
    /// `job_not_found` before Horizonpay is called.
    public func job(_ id: String, caller: Caller) async throws -> Answer {
        guard Self.isCallReference(id) else {
            throw VaultError.invalid("job_id", code: .invalidJobId, "job_id is not valid")
        }
        var release = ProviderCallRelease(action: "horizonpay.job")
        release.object = .init(id: id, provider: Self.provider, notFound: Self.jobNotFound, auditedAs: Self.auditable(id))
        let call = ProviderCall(ledger: ledger, client: client, caller: caller, release: release, idempotency: nil, timeout: configuration.timeout)
        let headers = [("Accept", "application/json"), ("Authorization", configuration.bearerAuthorization), ("X-Api-Version", "2")]
        let url = configuration.checkoutURL.appending("/ctp/api/async/jobs/" + id)
        let subject = Self.auditable(id)
        return try await call.run(
            build: { _, _ in ProviderCall.Outgoing(method: .GET, url: url, headers: headers, json: nil) },
            failureSubject: { status in subject + "|status=\(status.map(String.init) ?? "none")" },
            settle: { status, answer, released, settlement in
                let captured = try Self.capture(answer, cards: released.objectCards, in: settlement)
                let redacted = Self.redact(answer, cards: released.objectCards, scrub: captured.map { (SensitiveBytes(copying: $0.utf8), "<redacted>") })
                return ProviderCall.Settled(answer: Answer(status: status, body: redacted.bytes), subject: subject + "|status=\(status)")
            })
    }

    /// A notification passed on by the edge service: signature checked (when a webhook key is
    /// configured), Horizonpay card tokens captured for the transaction's cards, and the body
    /// returned redacted. One commit: the credential confirmed, a replay recognised, the tokens
    /// captured, the answer kept for replays and the audit row.
    public func notification(body: [UInt8], signature: String?, caller: Caller) async throws -> Answer {
        let action = "horizonpay.notification"
        guard configuration.webhookKey != nil || configuration.allowUnsignedNotifications else {
            try await ledger.confirm(caller, action: action)
            throw Self.notificationsNotConfigured
        }
        if let verifier = configuration.webhookKey {
            do {
                try verifier.verify(body: body, signature: signature)
            } catch {
                try await ledger.settle(caller: caller, confirming: action) { try $0.audit(action: action, subject: error.code.rawValue, outcome: .denied) }
                throw error
            }
        }
        guard let document = JSONValue.parse(body), document.isObject else {
            try await ledger.confirm(caller, action: action)
            throw VaultError.malformed(nil, "the notification body must be a JSON object")
        }
        let uid = document["transaction"]?["uid"]?.stringValue
        let status = document["transaction"]?["status"]?.stringValue ?? ""
        let objects = ProviderObjects(keys: try cards.keys.derivedKeys())
        let replayKey = uid.map { objects.notificationKey(tenant: caller.tenant, uid: $0, status: status) }
        let now = cards.clock()
        let subject = "uid=\(uid.map(Self.auditable) ?? "none")"
        return try await ledger.settle(caller: caller, confirming: action) { settlement in
            let tx = settlement.transaction
            // A notification already processed (same transaction and status, same tenant) is
            // answered as before and changes nothing: a replayed webhook cannot store a token again.
            if let replayKey, let stored = try tx.providerNotification(key: replayKey), let earlier = objects.openNotification(stored, key: replayKey) {
                try settlement.audit(action: action, subject: "replay|" + subject, outcome: .success)
                return Answer(status: 200, body: earlier)
            }
            // Cards are named only for a transaction this tenant started through the vault.
            let labels = try uid.flatMap { uid in Self.isCallReference(uid) ? try settlement.owned(uid, provider: Self.provider) : nil } ?? [:]
            let captured = try Self.capture(document, cards: labels, in: settlement)
            let redacted = Answer(
                status: 200, body: Self.redact(document, cards: labels, scrub: captured.map { (SensitiveBytes(copying: $0.utf8), "<redacted>") }).bytes)
            if let replayKey { try tx.saveProviderNotification(key: replayKey, answer: objects.sealNotification(redacted.body, key: replayKey), at: now) }
            try settlement.audit(action: action, subject: subject, outcome: .success)
            return redacted
        }
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

    public static let jobNotFound = VaultError(
        .notFound, code: .jobNotFound, message: "no async job with this id was started through the vault for this tenant", field: "job_id")

    /// Text from outside (a job id, a transaction uid) as it may appear in an audit row: at most
    /// 64 characters, with any card number in it masked.
    static func auditable(_ text: String) -> String {
        PANScrubber.scrub(String(text.prefix(64)))
    }

    /// Stores every Horizonpay card token in `answer` against the vault card it belongs to (in
    /// the call's second commit); returns the token values (to be scrubbed from the answer
    /// wherever else they appear).
    static func capture(_ answer: JSONValue, cards labels: [String: CardLabel], in settlement: ProviderCallSettlement) throws -> [String] {
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
            try settlement.captureProviderToken(value, provider: Self.provider, for: card)
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
}
