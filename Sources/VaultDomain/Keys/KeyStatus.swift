import Foundation

/// What `keys status` shows: each data-key version, its state and how many cards use it.
public struct KeyStatus: Sendable, Codable, Equatable {
    public struct Version: Sendable, Codable, Equatable {
        public var version: Int
        public var state: DataKeyState
        public var cards: Int
        /// Provider tokens (Horizonpay card tokens) sealed under this version.
        public var providerTokens: Int
        /// Provider references (ioka card and sender ids) sealed under this version.
        public var providerReferences: Int
        public var createdAt: Date
        public var retiredAt: Date?

        enum CodingKeys: String, CodingKey {
            case version, state, cards
            case providerTokens = "provider_tokens"
            case providerReferences = "provider_references"
            case createdAt = "created_at"
            case retiredAt = "retired_at"
        }
    }

    public var masterKeyID: String
    public var activeVersion: Int
    public var versions: [Version]
    public var totalCards: Int
    /// How the master key is held.
    public var seal: SealDescriptor
    /// True when this process holds no key (a shamir vault not unsealed here).
    public var sealed: Bool

    public init(masterKeyID: String, activeVersion: Int, versions: [Version], totalCards: Int, seal: SealDescriptor = .file, sealed: Bool = false) {
        self.masterKeyID = masterKeyID
        self.activeVersion = activeVersion
        self.versions = versions
        self.totalCards = totalCards
        self.seal = seal
        self.sealed = sealed
    }

    enum CodingKeys: String, CodingKey {
        case versions, seal, sealed
        case masterKeyID = "master_key_id"
        case activeVersion = "active_version"
        case totalCards = "total_cards"
    }

    /// Versions that some record (card, provider token or reference) still uses.
    public var versionsInUse: [Int] { versions.filter { $0.cards + $0.providerTokens + $0.providerReferences > 0 }.map(\.version) }
}

/// Progress and result of `keys rewrap`.
public struct RewrapProgress: Sendable, Codable, Equatable {
    /// Records re-encrypted: cards, provider tokens and provider references together.
    public var rewrapped: Int
    public var cards = 0
    public var providerTokens = 0
    public var providerReferences = 0
    public var remaining: Int
    public var batches: Int
    public var targetVersion: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case rewrapped, remaining, batches, seconds, cards
        case targetVersion = "target_version"
        case providerTokens = "provider_tokens"
        case providerReferences = "provider_references"
    }

    public var rowsPerSecond: Double { seconds > 0 ? Double(rewrapped) / seconds : 0 }
}
