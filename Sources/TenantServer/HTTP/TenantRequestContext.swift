import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the peer address (the
/// rate limiter's fallback caller identity) and the request id set by middleware.
struct TenantRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    var requestID = ""

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are read through `JSONRequest`, which enforces the same 1 MiB cap.
    var maxUploadSize: Int { JSONRequest.maxBodyBytes }
}
