import Foundation
import Testing
import VaultDomain
@testable import VaultProviders

/// Random card numbers, in random formats, at random places in random JSON: after redaction
/// (Horizonpay's and ioka's walkers) none of them comes out, in any format.
@Suite("Redaction without gaps")
struct ScrubberPropertyTests {
    static func luhnComplete(_ digits: [UInt8]) -> [UInt8] {
        for check in UInt8(0)...9 where PANScrubber.luhn(digits + [0x30 + check]) { return digits + [0x30 + check] }
        return digits
    }

    static func card(_ rng: inout SeededGenerator) -> String {
        let length = Int.random(in: 12...19, using: &rng)
        var digits: [UInt8] = [0x30 + UInt8.random(in: 2...6, using: &rng)]
        while digits.count < length - 1 { digits.append(0x30 + UInt8.random(in: 0...9, using: &rng)) }
        return String(decoding: luhnComplete(digits), as: UTF8.self)
    }

    /// The card written as a person or a provider might: in one run, in groups of four (or
    /// 4-6-rest) with spaces or dashes.
    static func written(_ card: String, _ rng: inout SeededGenerator) -> String {
        let chars = Array(card)
        func groups(_ sizes: [Int], _ separator: String) -> String {
            var parts: [String] = []
            var at = 0
            for size in sizes where at < chars.count { parts.append(String(chars[at..<min(chars.count, at + size)])); at += size }
            if at < chars.count { parts.append(String(chars[at...])) }
            return parts.joined(separator: separator)
        }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return card
        case 1: return groups([4, 4, 4, 4], " ")
        case 2: return groups([4, 4, 4, 4], "-")
        case 3: return groups([4, 6], " ")
        default: return groups([6, 6], "-")
        }
    }

    static func document(_ cards: inout [String], _ rng: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        func text() -> String {
            let card = card(&rng)
            cards.append(card)
            let around = ["", "card ", "ok ", "№ ", "(", "paid with "].randomElement(using: &rng)!
            return around + written(card, &rng) + ["", " ok", ".", ")", " until 12/30"].randomElement(using: &rng)!
        }
        switch depth > 3 ? Int.random(in: 0..<3, using: &rng) : Int.random(in: 0..<5, using: &rng) {
        case 0: return .string(text())
        case 1:
            let card = card(&rng)
            if card.count <= 18 { cards.append(card); return .int(Int64(card)!) }
            return .string(text())
        case 2: return .string(["plain", "2026-11-29 19:34", "+7 701 234 56 78", "tro_1234"].randomElement(using: &rng)!)
        case 3: return .array((0..<Int.random(in: 1...3, using: &rng)).map { _ in document(&cards, &rng, depth: depth + 1) })
        default:
            var fields: [(String, JSONValue)] = []
            for i in 0..<Int.random(in: 1...3, using: &rng) {
                let key = Bool.random(using: &rng) ? "k\(i)" : text() + "#\(i)"
                fields.append((key, document(&cards, &rng, depth: depth + 1)))
            }
            return .object(fields)
        }
    }

    @Test func noCardNumberComesOutInAnyFormat() throws {
        var rng = SeededGenerator(seed: 4_111_111)
        var checked = 0
        for _ in 0..<400 {
            var cards: [String] = []
            let document = Self.document(&cards, &rng)
            let outputs = [
                HorizonpayForwarder.redact(document, cards: [:], scrub: []).bytes,
                IokaReferences.replace(in: document, tokens: [:]).bytes,
            ]
            for output in outputs {
                // Separators removed, so a grouped number would show as one run.
                let flat = String(decoding: output.filter { $0 != 0x20 && $0 != 0x2D }, as: UTF8.self)
                for card in cards {
                    #expect(!flat.contains(card), "\(card) came out of \(String(decoding: document.bytes, as: UTF8.self))")
                    checked += 1
                }
            }
        }
        #expect(checked > 1000)
    }

    @Test func ordinaryNumbersAndTextStayAsTheyAre() {
        for text in [
            "2026-11-29 19:34:12", "+7 701 234 56 78", "order tro_123456789012x", "amount 150000", "1234 5678", "4012-0010-3714-1113",
            "bac404cc-0f3e-4e04-bb56-401200103714",
        ] {
            #expect(PANScrubber.scrub(text) == text, "\(text)")
        }
        #expect(PANScrubber.scrub("card 4012 0010 3714 1112 ok") == "card 401200******1112 ok")
        #expect(PANScrubber.scrub("4012-0010-3714-1112") == "401200******1112")
        #expect(JSONValue.int(4_012_001_037_141_112).maskingCardNumber == .string("401200******1112"))
        #expect(JSONValue.int(150_000).maskingCardNumber == .int(150_000))
        // Numbers past Int64 (the fuzzer sent one in an event and the server trapped) stay as they are.
        for big in [9.5e18, 9_223_372_036_854_775_807.0, 1e18 + 0.5, -4.0e15] {
            #expect(JSONValue.double(big).maskingCardNumber == .double(big))
        }
        #expect(JSONValue.double(4_012_001_037_141_112).maskingCardNumber == .string("401200******1112"))
        // A caller's tracking_id that is a grouped card number is never stored with a claim (and
        // so never echoed by outcome_unknown).
        #expect(!ProviderIdempotency.isReference("4012-0010-3714-1112"))
        #expect(ProviderIdempotency.isReference("trk-2026-11-29-0001"))
    }
}
