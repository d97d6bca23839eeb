/// A client row as storage holds it: the client, the keyed hash of its secret, and the keyed
/// MAC over both (nil on a row written before rows carried one). Only `ClientRows` turns it
/// into a `Client` anyone acts on, after checking the MAC.
public struct StoredClient: Sendable {
    public var client: Client
    public var secretHash: [UInt8]
    public var mac: [UInt8]?

    public init(client: Client, secretHash: [UInt8], mac: [UInt8]?) {
        self.client = client
        self.secretHash = secretHash
        self.mac = mac
    }
}
