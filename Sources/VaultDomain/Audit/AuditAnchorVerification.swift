import Foundation

/// What an anchor file's checkpoints say about the database's audit log.
public struct AuditAnchorVerification: Sendable, Equatable {
    /// The first checkpoint that must hold and does not: its row and why.
    public struct Break: Sendable, Equatable {
        public let seq: Int64
        public let reason: String
    }

    /// The checkpoints after the point a database was restored to that it does not hold: the
    /// rows of the history the restore cut off (their numbers may since have been used again).
    public struct CutTail: Sendable, Equatable {
        public let checkpoints: Int
        public let firstSeq: Int64
        public let lastSeq: Int64
        public let firstAt: String
        public let lastAt: String
    }

    /// Checkpoints the database holds.
    public let held: Int
    public let broken: Break?
    public let cutTail: CutTail?
}
