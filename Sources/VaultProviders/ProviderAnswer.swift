/// A provider's answer as the vault passes it on: the provider's HTTP status and the redacted
/// JSON body.
public struct ProviderAnswer: Sendable {
    public let status: Int
    public let body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}
