import Foundation
import VaultDomain

/// A one-line progress bar with rate and ETA on standard error, for terminals only.
final class ProgressBar: Sendable {
    let enabled: Bool

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: RewrapProgress) {
        guard enabled else { return }
        let total = p.rewrapped + p.remaining
        let fraction = total == 0 ? 1 : Double(p.rewrapped) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = p.rowsPerSecond
        let eta = rate > 0 ? Double(p.remaining) / rate : 0
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        Output.status(String(format: "\r[%@] %3.0f%% %d/%d  %.0f cards/s  ETA %.0fs ", bar, fraction * 100, p.rewrapped, total, rate, eta))
    }

    func finish() {
        if enabled { Output.status("\n") }
    }
}
