import VaultDomain

/// Where ioka puts card references in its JSON: `receiver_id`, `corp_card_id` and `card_id`
/// (saved cards), `sender_id` and `sender.id` (saved senders, `pyr_...`), and `id` of a `card`
/// object. Finds them at any depth, and writes the document back with vault tokens in their place.
enum IokaReferences {
    static let cardFields: Set<String> = ["receiver_id", "corp_card_id", "card_id"]
    static let senderFields: Set<String> = ["sender_id"]

    static func find(in document: JSONValue) -> [ReferenceSighting] {
        var found: [ReferenceSighting] = []
        func add(_ text: String, _ kind: ProviderReferenceKind, details: ReferenceDetails = ReferenceDetails()) {
            guard let reference = try? ProviderReference(validating: text, kind: kind) else { return }
            found.append(ReferenceSighting(reference: reference, details: details))
        }
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let fields):
                for (key, item) in fields {
                    if let text = item.stringValue {
                        if cardFields.contains(key) { add(text, .iokaCard) }
                        if senderFields.contains(key) { add(text, .iokaSender) }
                    }
                    if case .object = item, let id = item["id"]?.stringValue {
                        if key == "sender" { add(id, .iokaSender, details: details(of: item)) }
                        if key == "card" { add(id, .iokaCard, details: details(of: item)) }
                    }
                    walk(item)
                }
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(document)
        return found
    }

    static func isRetrievalReference(_ text: String) -> Bool {
        text.utf8.count == 12 && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    static func details(of object: JSONValue) -> ReferenceDetails {
        ReferenceDetails.lenient(
            panMasked: object["pan_masked"]?.stringValue, expiryDate: object["expiry_date"]?.stringValue,
            paymentSystem: object["payment_system"]?.stringValue, emitter: object["emitter"]?.stringValue)
    }

    /// The document with each reference replaced by its token. A
    /// reference without a token (one that is not a valid reference) becomes null; any other
    /// string that still contains a reference has it replaced; card numbers are masked.
    static func replace(in document: JSONValue, tokens: [ProviderReference: CardToken]) -> JSONValue {
        // Long enough that replacing it inside other text cannot hit ordinary words.
        let scrub = tokens.filter { $0.key.value.utf8.count >= 8 }.map { ($0.key.value, $0.value.rawValue) }
        func swap(_ item: JSONValue, _ kind: ProviderReferenceKind) -> JSONValue {
            guard let text = item.stringValue, let reference = try? ProviderReference(validating: text, kind: kind) else { return .null }
            return tokens[reference].map { .string($0.rawValue) } ?? .null
        }
        func walk(_ value: JSONValue, parent: String?) -> JSONValue {
            switch value {
            case .object(let fields):
                var out: [(String, JSONValue)] = []
                for (key, item) in fields {
                    if cardFields.contains(key), item.stringValue != nil {
                        out.append((key, swap(item, .iokaCard)))
                    } else if senderFields.contains(key), item.stringValue != nil {
                        out.append((key, swap(item, .iokaSender)))
                    } else if key == "id", parent == "sender", item.stringValue != nil {
                        out.append((key, swap(item, .iokaSender)))
                    } else if key == "id", parent == "card", item.stringValue != nil {
                        out.append((key, swap(item, .iokaCard)))
                    } else if key == "reference", parent == "acquirer", let text = item.stringValue, isRetrievalReference(text) {
                        // The acquirer's retrieval reference (ISO 8583 field 37, 12 digits) is
                        // not a card number, and support needs it intact; ioka never receives a
                        // PAN from the vault that it could echo here.
                        out.append((key, item))
                    } else {
                        // Keys are text from outside too.
                        out.append((PANScrubber.scrub(key), walk(item, parent: key)))
                    }
                }
                return .object(out)
            case .array(let items): return .array(items.map { walk($0, parent: parent) })
            case .string(var s):
                for (reference, token) in scrub where s.contains(reference) { s = s.replacingOccurrences(of: reference, with: token) }
                return .string(PANScrubber.scrub(s))
            default: return value.maskingCardNumber
            }
        }
        return walk(document, parent: nil)
    }
}
