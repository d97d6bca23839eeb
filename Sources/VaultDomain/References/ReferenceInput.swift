/// A registration of a provider reference as the caller sent it (`POST /v1/ioka/cards`,
/// `POST /v1/ioka/senders`, `PUT /v1/cards/{token}/ioka-card`), not yet validated.
public struct ReferenceInput: Sendable {
    public var value: String?
    public var customerID: String?
    public var panMasked: String?
    public var expiryDate: String?
    public var paymentSystem: String?
    public var emitter: String?

    public init(
        value: String?, customerID: String? = nil, panMasked: String? = nil, expiryDate: String? = nil,
        paymentSystem: String? = nil, emitter: String? = nil
    ) {
        self.value = value
        self.customerID = customerID
        self.panMasked = panMasked
        self.expiryDate = expiryDate
        self.paymentSystem = paymentSystem
        self.emitter = emitter
    }

    /// The reference and its details, every bad field named at once.
    func validated(as kind: ProviderReferenceKind) throws(VaultError) -> (ProviderReference, ReferenceDetails) {
        var v = FieldValidator()
        let reference = v.check { () throws(VaultError) -> ProviderReference in
            guard let value else { throw .invalid(kind.field, code: .missingField, "\(kind.field) is required") }
            return try ProviderReference(validating: value, kind: kind)
        }
        let details = v.check { () throws(VaultError) in
            try ReferenceDetails.validating(
                panMasked: panMasked, expiryDate: expiryDate, paymentSystem: paymentSystem,
                emitter: emitter, customerID: customerID)
        }
        try v.finish()
        guard let reference, let details else { throw .invalid(kind.field, code: .invalidReference, "invalid reference") }
        return (reference, details)
    }
}

/// A provider reference seen in a provider's answer or notification, with the masked details
/// that came beside it.
public struct ReferenceSighting: Sendable, Hashable {
    public let reference: ProviderReference
    public let details: ReferenceDetails

    public init(reference: ProviderReference, details: ReferenceDetails) {
        self.reference = reference
        self.details = details
    }

    public static func == (a: ReferenceSighting, b: ReferenceSighting) -> Bool { a.reference == b.reference }
    public func hash(into hasher: inout Hasher) { hasher.combine(reference) }
}
