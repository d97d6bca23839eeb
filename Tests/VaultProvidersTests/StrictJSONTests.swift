import Foundation
import ProviderSimulators
import Testing
import VaultDomain
import VaultProviders
import VaultTestSupport

/// The vault's one JSON reader: JSONTestSuite-style corner cases, and a differential test
/// against Foundation's reader on generated and mutated documents.
@Suite("Strict JSON")
struct StrictJSONTests {
    /// Documents RFC 8259 refuses, or that two readers could read two ways.
    static let refused: [String] = [
        #"{"number":"4111111111111111",}"#, "[1,]", "[,1]", "{,}", #"{"a":1,,"b":2}"#, "[1 2]",
        #"{"a":1}/*c*/"#, "//c\n{}", "{'a':1}", "['x']", #"{a:1}"#, "[NaN]", "[Infinity]", "[-Infinity]",
        "[01]", "[-01]", "[00]", "[1.]", "[.5]", "[1.e5]", "[1e]", "[1e+]", "[+1]", "[-]", "[0x10]", "[1_000]", "[1e400]",
        "[\"a\u{01}b\"]", "[\"tab\there\"]", "[\"new\nline\"]", #"["\x"]"#, #"["\u12"]"#, #"["\uD800"]"#, #"["\uDC00"]"#,
        #"["\uD800\u0041"]"#, "[True]", "[nul]", "[truex]", "{\"a\":1} {}", "", " ", "\u{FEFF}{}",
        #"{"a":1,"a":2}"#, #"{"a":{"b":1,"b":1}}"#, #"[{"x":1},{"y":2,"y":3}]"#,
        #"{"request":{"credit_card":{"token":"t"},"recipient_card":{"token":"t"},"recipient_card":{"number":"4111111111111111"}}}"#,
        #"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"a":11}"#,
    ]

    @Test(arguments: refused)
    func refuses(_ text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil, "accepted: \(text)")
    }

    /// Every refused document gets a position and the kind of fault, never its bytes.
    @Test(arguments: refused)
    func aRefusalSaysWhere(_ text: String) throws {
        let error = try #require(JSONValue.syntaxError(in: Array(text.utf8)), "no syntax error for \(text)")
        #expect(!error.description.contains("4111111111111111"))
        #expect(error.offset <= text.utf8.count)
    }

    @Test func aRefusalNamesTheKindAndThePlace() throws {
        let duplicate = try #require(JSONValue.syntaxError(in: Array(#"{"a":1,"a":2}"#.utf8)))
        #expect(duplicate.reason == .duplicateKey && duplicate.offset == 7 && duplicate.description.contains("column 8"))
        let comma = try #require(JSONValue.syntaxError(in: Array("{\n \"a\":1,}".utf8)))
        #expect(comma.reason == .syntax && comma.line == 2 && comma.description.contains("line 2"), "\(comma)")
        #expect(!comma.description.contains("duplicate") && !comma.description.contains("repeats"))
        #expect(try #require(JSONValue.syntaxError(in: Array("{} {}".utf8))).reason == .trailingData)
        #expect(JSONValue.syntaxError(in: Array(#"{"a":[1,2]}"#.utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [
            [0x5B, 0x22, 0xFF, 0x22, 0x5D], [0x5B, 0x22, 0xC3, 0x22, 0x5D], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], [0x5B, 0xFF, 0x5D],
        ] {
            #expect(JSONValue.parse(bytes) == nil)
        }
    }

    static let accepted: [String] = [
        "{}", "[]", "0", "-0", "1", "-1", "1.5", "-1.5e10", "1E-2", "1e+2", "0.0", "\"\"", "true", "false", "null",
        #"{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00"}"#, " \t\n\r{ \"a\" : 1 } \n", #"["\"\\\/\b\f\n\r\t"]"#,
        #"{"a":1,"A":2}"#, #"[{"a":1},{"a":2}]"#, #"{"a":{"a":{"a":1}}}"#, "[9223372036854775807]", "[-9223372036854775808]", "[1e308]",
    ]

    @Test(arguments: accepted)
    func accepts(_ text: String) throws {
        let value = try #require(JSONValue.parse(Array(text.utf8)), "refused: \(text)")
        let reference = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.same(value, reference), "\(text)")
    }

    /// Ours agrees with Foundation on every document it accepts, and accepts every valid one
    /// it generates; mutated documents that ours accepts, Foundation accepts with the same meaning.
    @Test func differentialAgainstFoundation() throws {
        var rng = SeededGenerator(seed: 20261129)
        var acceptedMutants = 0, refusedMutants = 0
        for _ in 0..<3000 {
            let text = Self.document(depth: 0, rng: &rng)
            let ours = try #require(JSONValue.parse(Array(text.utf8)), "refused a valid document: \(text)")
            let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(Self.same(ours, theirs), "\(text)")
            // Round trip through our writer.
            #expect(JSONValue.parse(ours.bytes) == ours)
            // Card fields read into SensitiveBytes mean the same, and write back the same.
            let guarded = try #require(JSONValue.parse(Array(text.utf8), sensitive: Self.sensitiveKeys), "refused with sensitive keys: \(text)")
            #expect(Self.same(guarded, theirs), "\(text)")
            #expect(JSONValue.parse(guarded.bytes, sensitive: Self.sensitiveKeys) == guarded)
            #expect(guarded.bytes == ours.bytes)

            var bytes = Array(text.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let alphabet = Array(#"{}[],:"\ 0123456789eE+-.tfnul'/*x"#.utf8) + [0x00, 0x01, 0x0A, 0x7F, 0xC3, 0xFF]
                let at = Int.random(in: 0...bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                case 1: if at < bytes.count { bytes.remove(at: at) }
                default: if at < bytes.count { bytes[at] = alphabet.randomElement(using: &rng)! }
                }
            }
            #expect(
                (JSONValue.parse(bytes, sensitive: Self.sensitiveKeys) == nil) == (JSONValue.parse(bytes) == nil),
                "the sensitive reading disagrees: \(String(decoding: bytes, as: UTF8.self))")
            if let mutant = JSONValue.parse(bytes) {
                acceptedMutants += 1
                let reference = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
                #expect(
                    reference != nil && Self.same(mutant, reference!),
                    "accepted what Foundation refuses or reads otherwise: \(String(decoding: bytes, as: UTF8.self))")
            } else {
                refusedMutants += 1
            }
        }
        #expect(acceptedMutants > 100 && refusedMutants > 100, "\(acceptedMutants) accepted, \(refusedMutants) refused: the mutations prove little")
    }

    // MARK: helpers

    static func document(depth: Int, rng: inout SeededGenerator) -> String {
        func space() -> String { ["", "", " ", "\n", "\t ", "\r\n"].randomElement(using: &rng)! }
        let choice = depth > 4 ? Int.random(in: 0..<5, using: &rng) : Int.random(in: 0..<7, using: &rng)
        switch choice {
        case 0: return ["true", "false", "null"].randomElement(using: &rng)!
        case 1: return String(Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng))
        case 2:
            let mantissa = String(Int.random(in: -999...999, using: &rng)) + "." + String(Int.random(in: 0...9999, using: &rng))
            return Bool.random(using: &rng)
                ? mantissa
                : mantissa + ["e", "E"].randomElement(using: &rng)! + ["", "+", "-"].randomElement(using: &rng)! + String(Int.random(in: 0...30, using: &rng))
        case 3, 4:
            let pieces = [#"a"#, #"\""#, #"\\"#, #"\n"#, #"\u00e9"#, "é", "€", #"\ud83d\ude00"#, "4405 6397", " ", #"\/"#, "z"]
            return "\"" + (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() + "\""
        case 5:
            let items = (0..<Int.random(in: 0...4, using: &rng)).map { _ in space() + document(depth: depth + 1, rng: &rng) + space() }
            return "[" + items.joined(separator: ",") + "]"
        default:
            let keys = ["a", "b", "number", "request", "credit_card", "k\\u0041", "é", ""].shuffled(using: &rng).prefix(Int.random(in: 0...4, using: &rng))
            return "{" + keys.map { "\(space())\"\($0)\"\(space()):\(space())" + document(depth: depth + 1, rng: &rng) }.joined(separator: ",") + space() + "}"
        }
    }

    static let sensitiveKeys: Set<String> = ["number", "kA", "é"]

    static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .sensitive(let bytes): return (theirs as? String).map { t in bytes.withUnsafeBytes { $0.elementsEqual(t.utf8) } } == true
        case .null: return theirs is NSNull
        case .bool(let b): return (theirs as? Bool) == b
        case .int(let i): return (theirs as? NSNumber)?.int64Value == i || (theirs as? Double) == Double(i)
        case .double(let d): return (theirs as? NSNumber).map { $0.doubleValue == d || abs($0.doubleValue - d) <= abs(d) * 1e-15 } == true
        case .string(let s): return (theirs as? String) == s
        case .array(let items):
            guard let other = theirs as? [Any], other.count == items.count else { return false }
            return zip(items, other).allSatisfy { same($0, $1) }
        case .object(let fields):
            guard let other = theirs as? [String: Any], other.count == fields.count else { return false }
            return fields.allSatisfy { key, value in other[key].map { same(value, $0) } == true }
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failing case can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The strict reading at every edge: API bodies, forwarded bodies (duplicate-key smuggling),
/// provider answers.
@Suite("Strict JSON at the edges", .serialized)
struct StrictJSONEdgeTests {
    static let hostile: [String] = [
        #"{"number":"4111111111111111","exp_month":12,"exp_year":"2031",}"#,
        #"{"number":"4111111111111111","number":"4012001037141112","exp_month":12,"exp_year":"2031"}"#,
        #"{"number":"4111111111111111",/*x*/"exp_month":12,"exp_year":"2031"}"#,
        #"{'number':'4111111111111111','exp_month':12,'exp_year':'2031'}"#,
        #"{"number":"4111111111111111","exp_month":012,"exp_year":"2031"}"#,
        #"{"number":"4111111111111111","exp_month":NaN,"exp_year":"2031"}"#,
        "{\"number\":\"4111111111111111\",\"exp_month\":12,\"exp_year\":\"2031\",\"holder\":\"A\u{07}B\"}",
    ]

    @Test func hostileBodiesAreRefusedAndNothingIsStored() async throws {
        try await HorizonpayRig().run { h, c, secret, _ in
            for body in Self.hostile {
                let r = try await c.send(.post, "/v1/cards", secret: secret, json: body)
                #expect(r.status == 400 && r.errorCode == "malformed_request", "\(body): \(r.status) \(r.text)")
                #expect(!r.text.contains("4111111111111111"))
            }
            var invalidUTF8 = Array(#"{"number":"4111111111111111","exp_month":12,"exp_year":"2031","holder":""#.utf8)
            invalidUTF8 += [0xC3, 0x28] + Array(#""}"#.utf8)
            #expect(try await c.send(.post, "/v1/cards", secret: secret, rawBody: invalidUTF8).status == 400)
            #expect(try await h.runtime.store.read { try $0.cardCount() } == 0)
        }
    }

    @Test func duplicateKeysNeverReachHorizonpay() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let smuggled = [
                #"{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"},"recipient_card":{"number":"4111111111111111","exp_month":"01","exp_year":"2030"}}}"#,
                #"{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}},"request":{"amount":1}}"#,
                #"{"request":{"amount":100,"amount":999999,"currency":"KZT","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#,
                #"{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"\#(from)","token":"\#(to)"},"recipient_card":{"token":"\#(to)"}}}"#,
            ]
            for route in ["p2ps", "checkout/p2p", "checkout/async/p2p", "p2p-restrictions", "checkout/verify-p2p", "checkout/async/verify-p2p"] {
                for body in smuggled {
                    let r = try await c.send(.post, "/v1/horizonpay/\(route)", secret: secret, json: body, headers: freshKey())
                    #expect(r.status == 400 && r.errorCode == "malformed_request", "\(route): \(r.status) \(r.text)")
                }
            }
            // A transfer that names one card only is refused before anything is claimed or spent;
            // no claim is left behind.
            for route in ["p2ps", "checkout/p2p", "checkout/async/p2p"] {
                let key = freshKey()
                for (body, field) in [
                    (#"{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"\#(from)"}}}"#, "request.recipient_card"),
                    (#"{"request":{"amount":100,"currency":"KZT","recipient_card":{"token":"\#(to)"}}}"#, "request.credit_card"),
                ] {
                    let r = try await c.send(.post, "/v1/horizonpay/\(route)", secret: secret, json: body, headers: key)
                    #expect(r.status == 422 && r.errorCode == "missing_field" && r.errorFields == [field], "\(route): \(r.text)")
                }
            }
            #expect(sim.totalCalls == 0)
            #expect(h.runtime.codes.expiry(for: CardToken(from)!, now: Date()) != nil)  // nothing spent
            // A provider answer with a duplicate key is not passed on: 502, and never re-sent.
            let key = freshKey()
            let dup = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret,
                json: HorizonpayRig.transfer(from, to, amount: Int(SimulatedFault.Amount.duplicateKeys)), headers: key)
            #expect(dup.status == 502 && dup.errorCode == "upstream_invalid_response", "\(dup.text)")
            #expect(!dup.text.contains("successful"))
        }
    }

    @Test func duplicateKeysNeverReachIoka() async throws {
        try await IokaRig().run { _, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let bodies = [
                (path: "/v1/ioka/transfer-orders", body: #"{"amount":100,"type":"TOPUP","receiver_id":"\#(receiver)","receiver_id":"RAWCARDID"}"#),
                (path: "/v1/ioka/transfer-orders", body: #"{"amount":100,"type":"TOPUP","receiver_id":"\#(receiver)","extra_info":{"k":1,"k":2}}"#),
                (path: "/v1/ioka/transfer-orders/tro_1/topup", body: #"{"sender_id":"\#(receiver)","sender_id":"pyr_raw"}"#),
                (path: "/v1/ioka/events", body: #"{"event":"ORDER_PAID","event":"X","order_id":"tro_1"}"#),
            ]
            for (path, body) in bodies {
                let r = try await c.send(.post, path, secret: secret, json: body, headers: freshKey())
                #expect(r.status == 400 && r.errorCode == "malformed_request", "\(path): \(r.text)")
            }
            #expect(sim.calls("POST /v2/transfer-orders") == 0 && sim.calls("POST /v2/transfer-orders/{id}/topup") == 0)
            // A number past Int64 in an event (schemathesis found it: the redaction trapped on it).
            let huge = try await c.send(.post, "/v1/ioka/events", secret: secret, json: #"{"event":"X","amount":9500000000000000000,"n":[1e308,-9.3e18]}"#)
            #expect(huge.status == 200, "\(huge.text)")
            #expect(try await c.send(.get, "/healthz").status == 200)
            let dup = try await c.send(
                .post, "/v1/ioka/transfer-orders", secret: secret,
                json: IokaRig.order(receiver, amount: Int(SimulatedFault.Amount.duplicateKeys)), headers: freshKey())
            #expect(dup.status == 502 && dup.errorCode == "upstream_invalid_response", "\(dup.text)")
        }
    }
}
