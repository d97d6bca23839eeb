import Hummingbird
import NIOCore
import VaultDomain

extension Response {
    /// A JSON answer from already-encoded bytes.
    static func json(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        if body.isEmpty { return Response(status: status) }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func json(_ answer: CardAnswer) -> Response {
        json(HTTPResponse.Status(code: answer.status), answer.body)
    }
}
