/// A value written in JSON as its text alone (a scope, a tenant), read back as stored.
public protocol TextCodable: Codable {
    var rawValue: String { get }
    init(stored: String)
}

extension TextCodable {
    public init(from decoder: any Decoder) throws {
        self.init(stored: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
