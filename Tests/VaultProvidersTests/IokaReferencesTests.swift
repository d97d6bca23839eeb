import Testing
import VaultDomain
@testable import VaultProviders

/// Where ioka card references sit in its JSON, and how each layer of their replacement works on
/// its own: the structural swap, the free-text scrub, and null for what cannot be a reference.
@Suite("ioka reference redaction")
struct IokaReferencesTests {
    let document = JSONValue.parse(
        Array(
            """
            {"order":{"id":"tro_1","receiver_id":"crd_R","corp_card_id":null,"description":"for crd_LONGCARD01"},
             "transfers":[{"sender":{"id":"pyr_S","pan_masked":"440563******5096","expiry_date":"01/25","payment_system":"VISA","emitter":"halykbank"}},
                          {"sender":{"id":null}}, {"sender":{"id":"4405639704015096"}}],
             "card":{"id":"crd_LONGCARD01"}, "sender_id":"pyr_T",
             "acquirer":{"name":"epay_v2","reference":"872000007684"}, "note":"872000007684"}
            """.utf8))!

    func reference(_ value: String, _ kind: ProviderReferenceKind) throws -> ProviderReference {
        try ProviderReference(validating: value, kind: kind)
    }

    @Test func findsEveryPlaceWithDetails() throws {
        let found = IokaReferences.find(in: document)
        #expect(
            Set(found.map(\.reference)) == [
                try reference("crd_R", .iokaCard), try reference("pyr_S", .iokaSender),
                try reference("crd_LONGCARD01", .iokaCard), try reference("pyr_T", .iokaSender),
            ])
        let sender = try #require(found.first { $0.reference.value == "pyr_S" })
        #expect(sender.details == ReferenceDetails(panMasked: "440563******5096", expiryDate: "01/25", paymentSystem: "VISA", emitter: "halykbank"))
    }

    @Test func structuralSwapScrubAndNull() throws {
        let tokens: [ProviderReference: CardToken] = [
            try reference("crd_R", .iokaCard): CardToken("tok_RRRRRRRRRRRRRRRRRRRRRR")!,
            try reference("pyr_S", .iokaSender): CardToken("tok_SSSSSSSSSSSSSSSSSSSSSS")!,
            try reference("crd_LONGCARD01", .iokaCard): CardToken("tok_LLLLLLLLLLLLLLLLLLLLLL")!,
            try reference("pyr_T", .iokaSender): CardToken("tok_TTTTTTTTTTTTTTTTTTTTTT")!,
        ]
        let out = IokaReferences.replace(in: document, tokens: tokens)
        // Short values are swapped where they stand (too short for the free-text scrub).
        #expect(out["order"]?["receiver_id"]?.stringValue == "tok_RRRRRRRRRRRRRRRRRRRRRR")
        #expect(out["sender_id"]?.stringValue == "tok_TTTTTTTTTTTTTTTTTTTTTT")
        guard case .array(let transfers)? = out["transfers"] else { Issue.record("transfers"); return }
        #expect(transfers[0]["sender"]?["id"]?.stringValue == "tok_SSSSSSSSSSSSSSSSSSSSSS")
        #expect(transfers[1]["sender"]?["id"] == .null)
        // A card number where a reference belongs is never passed on.
        #expect(transfers[2]["sender"]?["id"] == .null)
        // A long reference inside free text is replaced as well.
        #expect(out["order"]?["description"]?.stringValue == "for tok_LLLLLLLLLLLLLLLLLLLLLL")
        #expect(out["card"]?["id"]?.stringValue == "tok_LLLLLLLLLLLLLLLLLLLLLL")
        #expect(out["order"]?["corp_card_id"] == .null)
        // The acquirer's 12-digit retrieval reference stays intact even when it passes Luhn;
        // the same digits anywhere else are masked.
        #expect(out["acquirer"]?["reference"]?.stringValue == "872000007684")
        #expect(out["note"]?.stringValue != "872000007684")
        // A reference without a token is dropped rather than passed on.
        let bare = IokaReferences.replace(in: document, tokens: [:])
        #expect(bare["order"]?["receiver_id"] == .null && bare["sender_id"] == .null)
    }
}
