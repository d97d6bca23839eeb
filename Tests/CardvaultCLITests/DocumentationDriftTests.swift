import Foundation
import Testing

/// The docs and `--help` name the settings that exist, and only those.
@Suite("Documentation drift")
struct DocumentationDriftTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `CARDVAULT_*`, `HORIZONPAY_*` and `IOKA_*` names in `text` (a `_FILE` variant counts as its
    /// base; a prefix in a `grep ^PREFIX` is not a name).
    static func settingNames(in text: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: #"(?<!\^)\b(CARDVAULT|HORIZONPAY|IOKA)_[A-Z0-9_]*[A-Z0-9]\b"#)
        let range = NSRange(text.startIndex..., in: text)
        return Set(
            pattern.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } }.map {
                $0.hasSuffix("_FILE") && !$0.hasSuffix("PIN_FILE") && !$0.hasSuffix("ANCHOR_FILE") && !$0.hasSuffix("PASSWORD_FILE")
                    ? String($0.dropLast(5)) : $0
            })
    }

    static func files(under folder: String, ending suffix: String) -> [URL] {
        let base = root.appendingPathComponent(folder)
        let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)
        return (walker?.allObjects as? [URL] ?? []).filter { $0.path.hasSuffix(suffix) }
    }

    /// What the vault reads: every setting name in its sources (test support, the benchmark and
    /// the simulators have settings of their own).
    static var readBySources: Set<String> {
        let elsewhere = ["VaultTestSupport", "VaultHTTPTestSupport", "CardvaultBench", "CardvaultSimulator", "ProviderSimulators"]
        return files(under: "Sources", ending: ".swift").filter { file in !elsewhere.contains { file.path.contains("/Sources/\($0)/") } }
            .reduce(into: Set<String>()) { names, file in
                let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                names.formUnion(settingNames(in: text))
            }
    }

    /// A setting the README or docs/ name is one the code reads (a renamed variable cannot
    /// linger in the docs).
    @Test func everySettingTheDocsNameExists() throws {
        let known = Self.readBySources
        #expect(known.contains("CARDVAULT_CVV_TTL_SECONDS"), "the scan of Sources found nothing")
        let docs = [Self.root.appendingPathComponent("README.md")] + Self.files(under: "docs", ending: ".md") + Self.files(under: "deploy", ending: ".md")
        for file in docs {
            let named = Self.settingNames(in: try String(contentsOf: file, encoding: .utf8))
            let unknown = named.subtracting(known)
            #expect(unknown.isEmpty, "\(file.lastPathComponent) names settings nothing reads: \(unknown.sorted())")
        }
    }

    /// `serve --help` names every setting the server reads, flags' environment variables and
    /// environment-only ones alike.
    @Test func serveHelpNamesEverySetting() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let help = try cli.run(["serve", "--help"], vaultFlags: false)
        #expect(help.status == 0)
        let named = Self.settingNames(in: help.stdout + help.stderr)
        let missing = Self.readBySources.subtracting(named)
        #expect(missing.isEmpty, "serve --help does not mention \(missing.sorted())")
    }
}
