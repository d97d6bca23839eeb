/// A permission a service client holds. The set is open: provider features add their own.
public struct Scope: Hashable, Sendable, TextCodable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public static let cardsWrite = Scope(rawValue: "cards:write")
    public static let cardsRead = Scope(rawValue: "cards:read")
    public static let horizonpayForward = Scope(rawValue: "horizonpay:forward")
    public static let iokaForward = Scope(rawValue: "ioka:forward")
    public static let iokaWrite = Scope(rawValue: "ioka:write")
    /// Passing on Horizonpay notifications: the service that receives webhooks is not the one
    /// that moves money.
    public static let horizonpayNotify = Scope(rawValue: "horizonpay:notify")
    /// Passing on ioka events.
    public static let iokaEvents = Scope(rawValue: "ioka:events")

    public static let known: [Scope] = [.cardsWrite, .cardsRead, .horizonpayForward, .horizonpayNotify, .iokaForward, .iokaWrite, .iokaEvents]

    init(rawValue: String) { self.rawValue = rawValue }

    /// A scope as stored or encoded (not checked: a scope from a newer build is kept as it is).
    public init(stored text: String) { rawValue = text }

    /// Only scopes this build knows are accepted, so a typo is caught at `clients add`.
    public init(validating text: String) throws(VaultError) {
        guard let scope = Self.known.first(where: { $0.rawValue == text }) else {
            throw .invalid(
                "scopes", code: .unknownScope,
                "unknown scope; known scopes: " + Self.known.map(\.rawValue).joined(separator: ", "))
        }
        self = scope
    }

    /// Scopes as stored (comma-separated); unknown ones are kept as they are.
    public static func parseStored(_ text: String) -> Set<Scope> {
        Set(text.split(separator: ",").map { Scope(rawValue: String($0)) })
    }

    public static func < (a: Scope, b: Scope) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}
