import Foundation
import VaultCrypto
import VaultDomain

/// Where one connection's audit lane stands (see `AuditLaneEntry`): its random id, and the
/// position and hash of its last committed row. Rows a transaction appends advance a pending
/// copy; only a confirmed COMMIT makes it the lane's state, so a rolled-back transaction leaves
/// no gap. When a COMMIT's outcome is unknown (the connection died during it) the lane is
/// abandoned and a new one begins: the old lane simply ends at whatever committed.
final class AuditLaneCursor: @unchecked Sendable {
    // @unchecked: used by the one transaction its connection runs at a time.
    private(set) var id = SecureRandom.bytes(16)
    private var committed: (seq: Int64, hash: [UInt8]?) = (0, nil)
    private var pending: (seq: Int64, hash: [UInt8]?) = (0, nil)

    /// A transaction starts from the lane's committed state.
    func begin() { pending = committed }

    /// The next row of the lane, sealed by `chain`.
    func append(_ event: AuditEvent, chain: AuditChain, at date: Date) -> AuditLaneEntry {
        let row = chain.seal(event, lane: id, laneSeq: pending.seq + 1, after: pending.hash, at: date)
        pending = (row.laneSeq, row.laneHash)
        return row
    }

    /// The transaction committed: its rows are the lane's.
    func commit() { committed = pending }

    /// The last COMMIT may or may not have happened: continue in a new lane.
    func abandon() {
        id = SecureRandom.bytes(16)
        committed = (0, nil)
        pending = committed
    }
}
