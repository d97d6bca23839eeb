import Foundation
import Logging
import VaultDomain

extension StorageFailures {
    /// Counts one failure and logs it when it starts an episode or changes its cause. `detail`
    /// says where (hosts and what each answered); it never holds data.
    static func record(_ cause: Cause, detail: String, logger: Logger) {
        guard record(cause) else { return }
        logger.error(
            "the database cannot be written; said once per episode, not per request",
            metadata: ["cause": "\(cause.rawValue)", "detail": "\(detail)"])
    }

    /// A write committed: logs the end of the episode going on, if any, and how long it lasted.
    static func recovered(logger: Logger) {
        guard let (lasted, failures, cause) = recovered() else { return }
        let seconds = Double(lasted.components.seconds) + Double(lasted.components.attoseconds) / 1e18
        logger.notice(
            "the database takes writes again",
            metadata: [
                "after_seconds": "\(String(format: "%.1f", seconds))", "failed_attempts": "\(failures)", "last_cause": "\(cause.rawValue)",
            ])
    }
}
