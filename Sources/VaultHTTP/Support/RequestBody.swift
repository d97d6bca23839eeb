import Foundation
import Hummingbird
import NIOCore
import VaultCrypto
import VaultDomain
import VaultProviders

/// A JSON request body read through `StrictObject`.
protocol RequestBody {
    associatedtype Keys: CaseIterable & RawRepresentable & Hashable where Keys.RawValue == String
    /// Fields that carry card data: read straight into `SensitiveBytes`, never a Swift string.
    static var sensitive: Set<Keys> { get }
    init(_ object: StrictObject<Keys>) throws(VaultError)
}

extension RequestBody {
    static var sensitive: Set<Keys> { [] }
}

extension Request {
    /// Collects the body (at most 64 KiB, else 413) and reads it with the vault's one strict
    /// JSON reader (`JSONValue.parse`: RFC 8259, no duplicate keys), once; failures are 400
    /// answers that name the field, never the value.
    mutating func decodeJSON<T: RequestBody>(_ type: T.Type) async throws -> T {
        try await withBodyBytes { bytes in
            let sensitive = Set(T.sensitive.map(\.rawValue))
            guard let document = JSONValue.parse(bytes, sensitive: sensitive) else {
                throw VaultError.malformed(
                    nil, JSONValue.syntaxError(in: bytes, sensitive: sensitive)?.description ?? "the request body must be one JSON object")
            }
            guard case .object(let fields) = document else {
                throw VaultError.malformed(nil, "the request body must be one JSON object, not another JSON value")
            }
            return try T(StrictObject<T.Keys>(fields))
        }
    }

    /// Runs `body` over the request body (at most 64 KiB, else 413; not empty). A body may hold a
    /// card number or a security code: the framework's buffer is zeroed in place as soon as it is
    /// copied, and the copy when `body` returns. Card fields are parsed out of it into
    /// `SensitiveBytes` (see `RequestBody.sensitive`); the receive buffers themselves come from
    /// the wiping allocator (`ByteBufferAllocator.wiping`).
    mutating func withBodyBytes<T>(_ body: ([UInt8]) async throws -> T) async throws -> T {
        var buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: VaultRequestContext.maxBodySize)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge
        }
        var bytes = Array(buffer.readableBytesView)
        buffer.wipeReadableBytesInPlace()
        defer { wipe(&bytes) }
        guard !bytes.isEmpty else { throw VaultError.malformed(nil, "the request body must be a JSON object") }
        return try await body(bytes)
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

/// A request's JSON object, read strictly: unknown fields are refused (a misspelt
/// `verification_value` must not be silently dropped), each field must have its declared type,
/// and a field name is echoed only when it looks like one (a card number sent as a key is never
/// written back).
struct StrictObject<Key: CaseIterable & RawRepresentable> where Key.RawValue == String {
    private let fields: [String: JSONValue]

    init(_ fields: [(String, JSONValue)]) throws(VaultError) {
        for (name, _) in fields where Key(rawValue: name) == nil {
            let shown = VaultError.printableField(name)
            throw .malformed(shown, "\(shown) is not a known field")
        }
        // The reader has refused duplicate keys already.
        self.fields = Dictionary(fields, uniquingKeysWith: { first, _ in first })
    }

    /// A card-data field (declared in `RequestBody.sensitive`), or nil when absent or null.
    func sensitive(_ key: Key) throws(VaultError) -> SensitiveBytes? {
        switch fields[key.rawValue] {
        case nil, .null?: return nil
        case .sensitive(let bytes)?: return bytes
        default: throw .malformed(key.rawValue, "\(key.rawValue) has the wrong type")
        }
    }

    /// A string, or nil when absent or null.
    func string(_ key: Key) throws(VaultError) -> String? {
        switch fields[key.rawValue] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw .malformed(key.rawValue, "\(key.rawValue) has the wrong type")
        }
    }

    /// A string, or an integer given as a JSON number (expiry fields).
    func stringOrInteger(_ key: Key) throws(VaultError) -> String? {
        switch fields[key.rawValue] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case .int(let number)?: return String(number)
        default: throw .malformed(key.rawValue, "\(key.rawValue) has the wrong type")
        }
    }
}
