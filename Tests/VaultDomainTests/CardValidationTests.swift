import Foundation
import Testing
import VaultTestSupport
@testable import VaultDomain

@Suite("Card validation")
struct CardValidationTests {
    /// The providers' test cards and one of each brand we recognise.
    @Test(arguments: [
        ("4405639704015096", CardBrand.visa),
        ("5522042705066736", .mastercard),
        ("4012001037141112", .visa),
        ("4200000000000000", .visa),
        ("2221000000000009", .mastercard),
        ("2200000000000004", .mir),
        ("6200000000000005", .unionpay),
        ("378282246310005", .amex),
        ("6759649826438453", .maestro),
        ("3530111333300000", .jcb),
        ("6011111111111117", .discover),
        ("4405 6397 0401 5096", .visa),
        ("4405-6397-0401-5096", .visa),
    ])
    func acceptsValidNumbers(number: String, brand: CardBrand) throws {
        let pan = try PrimaryAccountNumber(validating: number)
        #expect(pan.brand == brand)
    }

    @Test(arguments: [
        ("4405639704015097", "fails the Luhn check"),
        ("44056397040", "12 to 19 digits"),
        ("44056397040150960000", "12 to 19 digits"),
        ("4405x639704015096", "only digits"),
        ("", "12 to 19 digits"),
        (SentinelCards.luhnComplete("55220427050667"), "length does not match"),  // Mastercard needs 16
        ("٤٤٠٥٦٣٩٧٠٤٠١٥٠٩٦", "only digits"),  // Arabic-Indic digits are not ASCII digits
    ])
    func rejectsInvalidNumbers(number: String, message: String) {
        do {
            _ = try PrimaryAccountNumber(validating: number)
            Issue.record("accepted \(number.count) characters")
        } catch {
            #expect(error.field == "number")
            #expect(error.kind == .invalidInput)
            #expect(error.message.contains(message))
            #expect(!error.description.contains(number.filter(\.isNumber)) || number.isEmpty)
        }
    }

    @Test func maskingShowsAtMostBinAndLastFour() throws {
        let visa = try PrimaryAccountNumber(validating: "4405639704015096")
        #expect(visa.masked == "440563******5096")
        #expect(visa.bin == "440563")
        #expect(visa.last4 == "5096")
        let amex = try PrimaryAccountNumber(validating: "378282246310005")
        #expect(amex.masked == "378282*****0005")
        let short = try PrimaryAccountNumber(validating: SentinelCards.luhnComplete("50000000000"))  // 12-digit Maestro
        #expect(short.masked.filter { $0 == "*" }.count >= 5)
        #expect(short.bin.count == 3)
    }

    @Test func panNeverPrints() throws {
        let pan = try PrimaryAccountNumber(validating: "4405639704015096")
        #expect("\(pan)" == "<redacted>")
        #expect(String(reflecting: pan) == "<redacted>")
        let data = CardData(pan: pan, expiry: CardExpiry(month: 1, year: 2030), holder: nil)
        #expect(!String(reflecting: data).contains("4405639704015096"))
    }

    static let now = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21

    @Test(arguments: [("1", "2030", "01"), ("09", "2027", "09"), ("12", "2026", "12"), ("9", "2026", "09")])
    func acceptsExpiry(month: String, year: String, text: String) throws {
        let expiry = try CardExpiry.validating(month: month, year: year, now: Self.now)
        #expect(expiry.monthText == text)
    }

    @Test(arguments: [
        ("0", "2030", "exp_month"), ("13", "2030", "exp_month"), ("001", "2030", "exp_month"), ("ab", "2030", "exp_month"),
        ("1", "30", "exp_year"), ("8", "2026", "exp_year"), ("1", "2099", "exp_year"), ("1", "20300", "exp_year"),
    ])
    func rejectsExpiry(month: String, year: String, field: String) {
        #expect { try CardExpiry.validating(month: month, year: year, now: Self.now) } throws: { error in
            (error as? VaultError)?.field == field
        }
    }

    @Test func holderRules() throws {
        #expect(try CardHolder(validating: "  IVAN PETROV ").name == "IVAN PETROV")
        #expect(throws: VaultError.self) { try CardHolder(validating: String(repeating: "A", count: 36)) }
        #expect(throws: VaultError.self) { try CardHolder(validating: "IVAN\u{0007}") }
        #expect(throws: VaultError.self) { try CardHolder(validating: "4405 6397 0401 5096") }
        #expect(try CardHolder(validating: String(repeating: "Ж", count: 35)).name.count == 35)
    }

    @Test func securityCodeLengthFollowsBrand() throws {
        let codes = try SecurityCodeVault(capacity: 8)
        #expect(throws: Never.self) { try SecurityCode.validate("123", brand: .visa) }
        #expect(throws: Never.self) { try SecurityCode.validate("1234", brand: .amex) }
        #expect(throws: VaultError.self) { try SecurityCode.validate("1234", brand: .visa) }
        #expect(throws: VaultError.self) { try codes.seal("12a", brand: .visa) }
        let code = try codes.seal("123", brand: .visa)
        #expect("\(code)" == "<redacted>")
        #expect(code.text == "123")
    }

    @Test func tokensHaveTheDocumentedShape() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let token = CardToken.generate().rawValue
            #expect(token.hasPrefix("tok_"))
            #expect(token.count == 26)
            #expect(CardToken(token) != nil)
            let allDigits = token.dropFirst(4).allSatisfy { $0.isNumber }
            #expect(!allDigits)
            seen.insert(token)
        }
        #expect(seen.count == 1000)
        #expect(CardToken("tok_short") == nil)
        #expect(CardToken("tok_" + String(repeating: "!", count: 22)) == nil)
    }
}

@Suite("Answer encoding")
struct AnswerEncodingTests {
    @Test(arguments: [nil, "IVAN PETROV", "Anne-Marie \"Q\" O'Neil/\\", "Жанна Әлиева", "tab\there"])
    func handWrittenJSONMatchesJSONEncoder(holder: String?) throws {
        let pan = try PrimaryAccountNumber(validating: "4405639704015096")
        let token = CardToken.generate()
        var card = SealedCard(
            token: token, tenant: .default, fingerprint: CardFingerprint(stored: "fp_abc"), keyVersion: 1,
            box: .init(nonce: [], ciphertext: []), createdAt: Date(timeIntervalSince1970: 1_790_000_000.123),
            updatedAt: Date(timeIntervalSince1970: 1_790_000_100.5))
        let data = CardData(pan: pan, expiry: CardExpiry(month: 2, year: 2030), holder: holder.map { CardHolder(trusted: $0) })
        let reference = SealedProviderReference(
            token: token, tenant: .default, kind: .iokaCard, blindIndex: [], keyVersion: 1, box: .init(nonce: [], ciphertext: []),
            details: ReferenceDetails(panMasked: "440563******5096", emitter: holder),
            createdAt: card.createdAt, updatedAt: card.updatedAt)
        for (expires, retain, references) in [
            (nil, nil, []), (Date(timeIntervalSince1970: 1_790_000_900.999), Date(timeIntervalSince1970: 1_800_000_000), [reference]),
        ] {
            card.retainUntil = retain
            let metadata = CardMetadata(card: card, data: data, codeExpiresAt: expires, references: references)
            #expect(String(decoding: metadata.jsonBytes, as: UTF8.self) == String(decoding: VaultJSON.encode(metadata), as: UTF8.self))
            let back = try VaultJSON.makeDecoder().decode(CardMetadata.self, from: Data(metadata.jsonBytes))
            #expect(back.jsonBytes == metadata.jsonBytes)
        }
    }

    @Test func timestampsMatchFoundation() {
        let foundation = ISO8601DateFormatter()
        foundation.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for t in [0.0, 1_790_000_000.001, 1_790_000_000.25, 1_790_000_000.999, 4_102_444_799.5] {
            let date = Date(timeIntervalSince1970: t)
            #expect(Timestamp.format(date) == foundation.string(from: date))
        }
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_790_000_000.123)) == "2026-09-21T14:13:20.123Z")
        #expect(StoredDate.date(StoredDate.millis(Date(timeIntervalSince1970: 1_790_000_000.123))).timeIntervalSince1970 == 1_790_000_000.123)
    }
}

@Suite("PAN scrubbing")
struct PANScrubberTests {
    @Test func masksLuhnValidRunsOnly() {
        #expect(PANScrubber.scrub("card 4012001037141112 declined") == "card 401200******1112 declined")
        #expect(PANScrubber.scrub("uid 4012001037141113 is not a card") == "uid 4012001037141113 is not a card")
        #expect(PANScrubber.scrub("amount 100, ref 12345") == "amount 100, ref 12345")
        #expect(PANScrubber.scrub("4200000000000000/5522042705066736") == "420000******0000/552204******6736")
    }

    /// The no-copy fast path must still see a run that starts after shorter ones and one that
    /// ends the string, and leave 11-digit runs alone.
    @Test func findsRunsAnywhereInTheString() {
        #expect(PANScrubber.scrub("12 345 4012001037141112") == "12 345 401200******1112")
        #expect(PANScrubber.scrub("x4012001037141112") == "x401200******1112")
        #expect(PANScrubber.scrub("phone 77012345678, id 1234567890a") == "phone 77012345678, id 1234567890a")
        #expect(PANScrubber.scrub("") == "")
    }
}
