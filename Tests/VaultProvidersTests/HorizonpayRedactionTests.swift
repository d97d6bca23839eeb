import Testing
import VaultDomain
import VaultCrypto
import VaultTestSupport
@testable import VaultProviders

/// The redaction pass on its own, for the cases an end-to-end answer rarely carries.
@Suite("Horizonpay answer redaction")
struct HorizonpayRedactionTests {
    static let label = CardLabel(token: "tok_source", fingerprint: "fp_source")

    @Test func replacesScrubValuesInsideFreeText() throws {
        let answer = try #require(
            JSONValue.parse(
                Array(
                    #"""
                    {"transaction":{"message":"card 4012001037141112 ok","note":"saved as hp-tok-123456","list":["hp-tok-123456"]},
                     "credit_card":{"number":"4012001037141112","token":"hp-tok-123456","stamp":"s","last_4":"1112"}}
                    """#.utf8)))
        let redacted = HorizonpayForwarder.redact(
            answer, cards: ["credit_card": Self.label],
            scrub: [(SensitiveBytes(copying: "4012001037141112".utf8), "401200******1112"), (SensitiveBytes(copying: "hp-tok-123456".utf8), "<redacted>")])
        let text = String(decoding: redacted.bytes, as: UTF8.self)
        #expect(!text.contains("4012001037141112"))
        #expect(!text.contains("hp-tok-123456"))
        #expect(redacted["transaction"]?["message"]?.stringValue == "card 401200******1112 ok")
        #expect(redacted["transaction"]?["note"]?.stringValue == "saved as <redacted>")
        #expect(redacted["credit_card"]?["token"]?.stringValue == "tok_source")
        #expect(redacted["credit_card"]?["fingerprint"]?.stringValue == "fp_source")
        #expect(redacted["credit_card"]?["stamp"] == nil)
        #expect(redacted["credit_card"]?["last_4"]?.stringValue == "1112")
    }

    /// A provider may answer an empty card token; an empty scrub value must change nothing.
    @Test func emptyScrubValueChangesNothing() throws {
        let answer = try #require(JSONValue.parse(Array(#"{"status":"successful","message":"ok"}"#.utf8)))
        let redacted = HorizonpayForwarder.redact(answer, cards: [:], scrub: [(SensitiveBytes(copying: "".utf8), "<redacted>")])
        #expect(redacted["message"]?.stringValue == "ok")
        #expect(redacted["status"]?.stringValue == "successful")
    }

    /// Card data held as `.sensitive` never comes out of redaction, whatever key it sits under.
    @Test func sensitiveValuesAreRedactedWherever() {
        let pan = SentinelCards.pans[0]
        let answer = JSONValue.object([
            ("note", .sensitive(SensitiveBytes(copying: pan.utf8))), ("list", .array([.sensitive(SensitiveBytes(copying: pan.utf8))])),
        ])
        let text = String(decoding: HorizonpayForwarder.redact(answer, cards: [:], scrub: []).bytes, as: UTF8.self)
        #expect(!text.contains(pan), "\(text)")
        #expect(text.contains("<redacted>"))
    }
}
