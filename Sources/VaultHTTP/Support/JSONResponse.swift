import Hummingbird
import NIOCore
import VaultDomain

extension Response {
    /// A JSON answer from already-encoded bytes.
    static func json(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        if body.isEmpty { return Response(status: status) }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A card operation's answer: the HTTP layer alone turns outcomes into statuses.
    static func json(_ answer: CardAnswer) -> Response {
        let status: HTTPResponse.Status =
            switch answer.outcome {
            case .created: .created
            case .existing: .ok
            case .deleted: .noContent
            }
        return json(status, answer.body)
    }
}
