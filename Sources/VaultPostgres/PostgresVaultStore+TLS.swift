import NIOSSL
import PostgresNIO
import VaultDomain

extension PostgresVaultStore {
    /// The TLS settings `url` asks for: none, encryption only, or a chain checked against
    /// `sslrootcert` (or the system's roots), with the host name under `verify-full`. TLS 1.2
    /// at least. Built once at start, so a bad root file is a start-up error.
    static func tls(for url: PostgresDatabaseURL) throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch url.tls {
        case .disable: return .disable
        case .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let file = url.rootCertificateFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            } catch {
                throw VaultError.invalid("database", code: .invalidSetting, "sslrootcert \(file) is not a readable PEM certificate file")
            }
        }
        do {
            return .require(try NIOSSLContext(configuration: configuration))
        } catch {
            throw VaultError.invalid("database", code: .invalidSetting, "cannot set up TLS for PostgreSQL")
        }
    }
}
