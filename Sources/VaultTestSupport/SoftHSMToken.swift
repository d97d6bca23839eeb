import Foundation

/// A SoftHSM2 token in a temporary folder for the pkcs11 seal's tests: its own configuration
/// (`SOFTHSM2_CONF`), a token initialised with `softhsm2-util`, and a PIN file (0600).
/// SoftHSM reads `SOFTHSM2_CONF` once per process, so a test process shares one folder and
/// every token gets its own label in it.
public struct SoftHSMToken: Sendable {
    public static let module = "/usr/lib/softhsm/libsofthsm2.so"
    public let label: String
    public let pinFile: String
    public let configFile: String

    /// The environment a `cardvault` process needs to use this token.
    public func environment(keyLabel: String = "cardvault-master") -> [String: String] {
        [
            "SOFTHSM2_CONF": configFile, "CARDVAULT_PKCS11_MODULE": Self.module, "CARDVAULT_PKCS11_TOKEN": label,
            "CARDVAULT_PKCS11_PIN_FILE": pinFile, "CARDVAULT_PKCS11_KEY_LABEL": keyLabel,
        ]
    }

    /// The process-wide SoftHSM folder, configuration and token pool. SoftHSM reads its tokens
    /// when a process first initialises the module and does not see tokens made after that, so
    /// every token a test process uses is made here, before any test loads the module.
    static let shared: Result<(config: String, tokens: [SoftHSMToken]), SoftHSMError> = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cardvault-softhsm-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: folder + "/tokens", withIntermediateDirectories: true)
        let config = folder + "/softhsm2.conf"
        let text = "directories.tokendir = \(folder)/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
        _ = FileManager.default.createFile(atPath: config, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        setenv("SOFTHSM2_CONF", config, 1)
        var tokens: [SoftHSMToken] = []
        for _ in 0..<poolSize {
            let pin = "4711-\(UInt32.random(in: 0...UInt32.max))"
            let label = "cv-" + String(UUID().uuidString.prefix(8)).lowercased()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/softhsm2-util")
            process.arguments = ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", pin + "-so"]
            process.environment = ProcessInfo.processInfo.environment.merging(["SOFTHSM2_CONF": config]) { _, new in new }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            do { try process.run() } catch { return .failure(SoftHSMError(message: "softhsm2-util is not installed (Debian package softhsm2)")) }
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                return .failure(SoftHSMError(message: "softhsm2-util --init-token failed: \(text)"))
            }
            let pinFile = folder + "/\(label).pin"
            _ = FileManager.default.createFile(atPath: pinFile, contents: Data((pin + "\n").utf8), attributes: [.posixPermissions: 0o600])
            tokens.append(SoftHSMToken(label: label, pinFile: pinFile, configFile: config))
        }
        return .success((config, tokens))
    }()

    static let poolSize = 12
    private static let handedOut = NSLock()
    nonisolated(unsafe) private static var next = 0

    /// A token of the pool no other test has (fails when SoftHSM2 is missing or the pool is
    /// used up: raise `poolSize`).
    public static func make() throws -> SoftHSMToken {
        let tokens = try shared.get().tokens
        return try handedOut.withLock {
            guard next < tokens.count else { throw SoftHSMError(message: "all \(poolSize) SoftHSM test tokens are in use; raise SoftHSMToken.poolSize") }
            defer { next += 1 }
            return tokens[next]
        }
    }

    public struct SoftHSMError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }
}
