/// The vault's OpenAPI 3.1 document: `openapi.json` beside this file, the one source of the API
/// contract, embedded in the binary at build time. Served at `GET /openapi.json` and printed by
/// `cardvault openapi`. Tests hold it to the router (route for route), to the request decoders
/// (property for key) and to the error-code registry (`ErrorCode` enum).
public enum OpenAPIDocument {
    public static let json = String(decoding: PackageResources.openapi_json, as: UTF8.self)
}
