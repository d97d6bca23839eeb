import Foundation
import Hummingbird
import NIOCore
import VaultDomain
import VaultProviders

extension Request {
    /// Collects the body (at most 64 KiB, else 413) and decodes it as a JSON object, turning
    /// decoding failures into 400 answers that name the field, never the value. The bytes are
    /// first read by the vault's one strict JSON reader (`JSONValue.parse`): Foundation's decoder
    /// accepts trailing commas and keeps one of two duplicate keys, so it only ever sees
    /// documents that mean one thing.
    mutating func decodeJSON<T: Decodable>(_ type: T.Type) async throws -> T {
        let bytes = try await bodyBytes()
        guard JSONValue.parse(bytes)?.isObject == true else {
            throw VaultError.malformed(nil, "the request body must be one JSON object (RFC 8259; no duplicate keys)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw Self.describe(error)
        }
    }

    /// The body (at most 64 KiB, else 413), which must not be empty.
    mutating func bodyBytes() async throws -> [UInt8] {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: VaultRequestContext.maxBodySize)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge
        }
        guard buffer.readableBytes > 0 else { throw VaultError.malformed(nil, "the request body must be a JSON object") }
        return Array(buffer.readableBytesView)
    }

    static func describe(_ error: DecodingError) -> VaultError {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = fieldName(context.codingPath)
            return .malformed(field, field.map { "\($0) has the wrong type" } ?? "the request body must be a JSON object")
        case .keyNotFound(let key, let context):
            let field = fieldName(context.codingPath + [key]) ?? key.stringValue
            return .malformed(field, "\(field) is required")
        case .dataCorrupted(let context):
            if let field = fieldName(context.codingPath) {
                return .malformed(field, context.debugDescription == "unknown field" ? "\(field) is not a known field" : "\(field) is not valid")
            }
            return .malformed(nil, "the request body is not valid JSON")
        @unknown default:
            return .malformed(nil, "the request body could not be read")
        }
    }

    /// The dotted path of a field. A key name comes from the caller, so it is echoed only when
    /// it looks like a field name (letters and underscores): a card number sent as a key is never
    /// written back.
    private static func fieldName(_ path: [any CodingKey]) -> String? {
        guard !path.isEmpty else { return nil }
        return path.map { key -> String in
            if let index = key.intValue { return String(index) }
            let name = key.stringValue
            let plain = (1...40).contains(name.utf8.count) && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || $0 == 0x5F }
            return plain ? name : "<unnamed>"
        }.joined(separator: ".")
    }

    /// The value of `Idempotency-Key`, validated.
    func idempotencyKey() throws -> IdempotencyKey? {
        guard let raw = headers[.init("Idempotency-Key")!] else { return nil }
        return try IdempotencyKey(validating: raw)
    }

    /// The bearer secret from `Authorization`, if any.
    var bearerSecret: String? {
        guard let value = headers[.authorization] else { return nil }
        // "Bearer" is case-insensitive (RFC 9110 §11.1); compared byte-wise, it runs per request.
        let utf8 = value.utf8
        guard utf8.count > 7 else { return nil }
        let scheme = utf8.prefix(6).map { $0 | 0x20 }
        guard scheme.elementsEqual("bearer".utf8), utf8.dropFirst(6).first == 0x20 else { return nil }
        let secret = utf8.dropFirst(7).drop { $0 == 0x20 }
        return String(Substring(secret))
    }
}

/// Strict JSON objects: unknown fields are refused (a misspelt `verification_value` must not be
/// silently dropped), each field decodes as its declared type.
struct StrictObject<Key: CodingKey & CaseIterable & RawRepresentable> where Key.RawValue == String {
    let container: KeyedDecodingContainer<Key>

    init(_ decoder: any Decoder) throws {
        let any = try decoder.container(keyedBy: AnyKey.self)
        for key in any.allKeys where Key(rawValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: "unknown field"))
        }
        container = try decoder.container(keyedBy: Key.self)
    }

    func string(_ key: Key) throws -> String? {
        try container.decodeIfPresent(String.self, forKey: key)
    }

    /// A string, or an integer given as a JSON number (expiry fields).
    func stringOrInteger(_ key: Key) throws -> String? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let text = try? container.decode(String.self, forKey: key) { return text }
        if let number = try? container.decode(Int.self, forKey: key) { return String(number) }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: [key], debugDescription: "expected string or integer"))
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
