import Synchronization

/// Rows that failed their integrity check (a MAC or an AEAD tag made with keys the database
/// does not hold), counted per table for `/metrics` (`cardvault_integrity_failures_total`).
/// A failed row is refused wherever it is read; this only counts.
public enum IntegrityFailures {
    /// The kinds of row that carry a check.
    public enum Table: String, Sendable, CaseIterable {
        case cards, clients, providerObject = "provider_calls", providerReferences = "provider_references"
        case providerTokens = "provider_tokens", idempotency = "idempotency_keys", notifications = "provider_notifications"
    }

    private static let counts = Mutex<[Table: Int]>([:])

    public static func record(_ table: Table) {
        counts.withLock { $0[table, default: 0] += 1 }
    }

    /// Failures per table since the process started.
    public static func snapshot() -> [Table: Int] {
        counts.withLock { $0 }
    }
}
