import Foundation

/// The one JSON encoding of answers, shared by fresh answers and idempotent replays so that a
/// replay is byte-for-byte the first answer.
public enum VaultJSON {
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        // Encoding our own Codable value types cannot fail.
        Array(try! makeEncoder().encode(value))
    }

    /// Decodes bytes the vault wrote itself; nil when they do not parse.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> T? {
        try? makeDecoder().decode(type, from: Data(bytes))
    }

    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(AuditChain.timestamp(date))
        }
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let date = f.date(from: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad date"))
            }
            return date
        }
        return decoder
    }
}
