import Foundation
import VaultDomain

#if canImport(Glibc)
    import Glibc
#endif

/// Reads key shares from standard input: on a terminal one prompt per share with echo off (a
/// share never shows on screen or in the scrollback), otherwise one share per line (a custodian's
/// file piped in). Blank lines are skipped.
enum ShareInput {
    /// `prompt` replaces the numbered prompt (one share of a set whose progress the server keeps).
    static func read(count: Int, purpose: String, prompt: String? = nil) throws(VaultError) -> [String] {
        let terminal = isatty(STDIN_FILENO) == 1
        var shares: [String] = []
        while shares.count < count {
            if terminal {
                FileHandle.standardError.write(Data("\(purpose): \(prompt ?? "key share \(shares.count + 1) of \(count)"): ".utf8))
            }
            guard let line = readLine(echo: !terminal) else { break }
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            let share = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if !share.isEmpty { shares.append(share) }
        }
        guard shares.count == count else {
            throw VaultError(
                .failedPrecondition, code: .sharesRequired, message: "\(purpose) needs \(count) key share(s) on standard input, \(shares.count) given",
                field: "share")
        }
        return shares
    }

    /// One line; with `echo` false the terminal does not show it.
    private static func readLine(echo: Bool) -> String? {
        guard !echo else { return Swift.readLine(strippingNewline: true) }
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
        return Swift.readLine(strippingNewline: true)
    }
}
