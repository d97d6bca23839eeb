/// An operation that takes an `Idempotency-Key`, named by a stable id (`card.create`), never by
/// the HTTP route that reaches it. The id goes into the request hash of every record stored for
/// it, so a key reused for another operation is a conflict.
///
/// `hashLabel` is frozen: records written before the ids existed were hashed under the route
/// text, and the label keeps those records replayable (no migration has to recompute keyed
/// hashes it cannot recompute: the requests themselves are not stored). New operations use
/// their id as the label.
public struct IdempotentOperation: Sendable, Hashable, CustomStringConvertible {
    public let id: String
    let hashLabel: String

    private init(_ id: String, hashLabel: String? = nil) {
        self.id = id
        self.hashLabel = hashLabel ?? id
    }

    public var description: String { id }

    public static let tokenize = Self("card.create", hashLabel: "POST /v1/cards")
    public static let updateCard = Self("card.update", hashLabel: "PATCH /v1/cards")
    public static let deleteCard = Self("card.delete", hashLabel: "DELETE /v1/cards")

    /// Registering an ioka reference (`ioka_card`, `ioka_sender`), on its own or on a card.
    public static func registerReference(_ kind: ProviderReferenceKind, onCard: Bool) -> Self {
        onCard
            ? Self("\(kind.rawValue).attach", hashLabel: "PUT /v1/cards/\(kind.rawValue)")
            : Self("\(kind.rawValue).register", hashLabel: "POST /v1/\(kind.rawValue)")
    }

    /// A Horizonpay call, by its upstream route name (`p2ps`, `checkout/p2p`, ...).
    public static func horizonpay(_ route: String) -> Self {
        Self("horizonpay.\(route)", hashLabel: "POST /v1/horizonpay/\(route)")
    }

    public static let iokaCreateOrder = Self("ioka.transfer_order.create", hashLabel: "POST /v1/ioka/transfer-orders")
    public static let iokaTopup = Self("ioka.transfer_order.topup", hashLabel: "POST /v1/ioka/transfer-orders/topup")
}
