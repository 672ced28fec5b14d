import CompressNIO
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sent down every open connection's pipeline when the server shuts down.
struct ServerShutdownEvent: Sendable {}

/// One per connection, after NIO's HTTP/1 decoder and pipelining handler (which serialises
/// pipelined requests, so at most one request is in flight here).
///
/// Routes: `GET`/`HEAD /metrics` (rendered on the thread pool, gzipped when asked), `GET`/`HEAD
/// /healthz`, 404 elsewhere, 405 for other methods on the two known paths. It also enforces the
/// read/idle/write timeout and answers header-size and parse errors.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for (the rest of) a request.
        case idle
        /// Head received, waiting for `.end`.
        case receiving(HTTPRequestHead, started: NIODeadline)
        /// Request complete, response being produced or written.
        case responding
    }

    private let provider: any MetricsProvider
    private let renderPool: NIOThreadPool
    private let coalescer: RenderCoalescer
    private let registry: ConnectionRegistry?
    private let timeout: TimeAmount
    private let logger: Logger
    private var state = State.idle
    private var timer: Scheduled<Void>?
    private var closeAfterResponse = false
    private var active = false
    /// False once a response announced `Connection: close`: later (pipelined) requests are ignored.
    private var acceptsRequests = true

    init(
        provider: any MetricsProvider, renderPool: NIOThreadPool, timeout: TimeAmount, logger: Logger,
        coalescer: RenderCoalescer = RenderCoalescer(), registry: ConnectionRegistry? = nil
    ) {
        self.provider = provider
        self.renderPool = renderPool
        self.coalescer = coalescer
        self.registry = registry
        self.timeout = timeout
        self.logger = logger
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { becomeActive(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becomeActive(context: context)
        context.fireChannelActive()
    }

    private func becomeActive(context: ChannelHandlerContext) {
        guard !active else { return }
        active = true
        armTimer(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        active = false
        cancelTimer()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ServerShutdownEvent {
            closeAfterResponse = true
            if case .idle = state { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: timeout

    private func armTimer(context: ChannelHandlerContext) {
        cancelTimer()
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) { [logger] in
            let context = loopBoundContext.value
            logger.debug(
                "closing connection after timeout",
                metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard acceptsRequests else { return }
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            state = .receiving(head, started: .now())
        case .body:
            break  // request bodies are not used; the timer bounds how long one may take
        case .end:
            guard case .receiving(let head, let started) = state else { return }
            state = .responding
            cancelTimer()
            registry?.setBusy(context.channel, true)
            respond(context: context, head: head, started: started)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parseError = error as? HTTPParserError {
            // Answer only when no response is under way; the connection closes either way.
            if case .responding = state {
                context.close(promise: nil)
                return
            }
            let status: HTTPResponseStatus =
                parseError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            state = .responding
            cancelTimer()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Connection", value: "close")
            let body = Array("\(status.code) \(status.reasonPhrase)\n".utf8)
            headers.add(name: "Content-Length", value: String(body.count))
            context.write(
                Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            return
        }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: routing

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, started: NIODeadline) {
        let path =
            head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? head.uri
        let isHead = head.method == .HEAD
        switch path {
        case "/metrics":
            guard head.method == .GET || isHead else {
                send(
                    context: context, request: head, status: .methodNotAllowed,
                    headers: [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")],
                    body: Array("405 method not allowed\n".utf8), omitBody: false, started: started, scrape: true)
                return
            }
            renderMetrics(context: context, head: head, started: started)
        case "/healthz", "/readyz":
            guard head.method == .GET || isHead else {
                send(
                    context: context, request: head, status: .methodNotAllowed,
                    headers: [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")],
                    body: Array("405 method not allowed\n".utf8), omitBody: false, started: started, scrape: false)
                return
            }
            let probe = path == "/healthz" ? provider.health() : provider.readiness()
            send(
                context: context, request: head, status: probe.ok ? .ok : .serviceUnavailable,
                headers: [("Content-Type", "text/plain; charset=utf-8")],
                body: Array((probe.detail + "\n").utf8), omitBody: isHead, started: started, scrape: false)
        default:
            send(
                context: context, request: head, status: .notFound,
                headers: [("Content-Type", "text/plain; charset=utf-8")],
                body: Array("404 page not found\n".utf8), omitBody: isHead, started: started, scrape: false)
        }
    }

    private func renderMetrics(context: ChannelHandlerContext, head: HTTPRequestHead, started: NIODeadline) {
        let accept =
            head.headers[canonicalForm: "Accept"].isEmpty ? nil : head.headers["Accept"].joined(separator: ", ")
        let wantsGzip = AcceptEncoding.prefersGzip(head.headers["Accept-Encoding"])
        let provider = self.provider
        let key = RenderCoalescer.Key(accept: accept, gzip: wantsGzip)
        let rendering = coalescer.render(key, pool: renderPool, eventLoop: context.eventLoop) {
            () throws -> RenderedExposition in
            let (bytes, contentType) = provider.renderMetrics(accept: accept)
            var body = ByteBuffer(bytes: bytes)
            if wantsGzip {
                let compressed = try body.compress(with: .gzip())
                return RenderedExposition(body: compressed, contentType: contentType, gzipped: true)
            }
            return RenderedExposition(body: body, contentType: contentType, gzipped: false)
        }
        rendering.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let rendered):
                var headers = [("Content-Type", rendered.contentType), ("Vary", "Accept-Encoding")]
                if rendered.gzipped { headers.append(("Content-Encoding", "gzip")) }
                self.send(
                    context: context, request: head, status: .ok, headers: headers, body: rendered.body,
                    omitBody: head.method == .HEAD, started: started, scrape: true)
            case .failure(let error):
                self.logger.error("rendering metrics failed", metadata: ["error": "\(error)"])
                self.closeAfterResponse = true
                self.send(
                    context: context, request: head, status: .serviceUnavailable,
                    headers: [("Content-Type", "text/plain; charset=utf-8")],
                    body: Array("503 service unavailable\n".utf8), omitBody: false, started: started, scrape: true)
            }
        }
    }

    // MARK: writing

    private func send(
        context: ChannelHandlerContext, request: HTTPRequestHead, status: HTTPResponseStatus,
        headers extra: [(String, String)], body: [UInt8], omitBody: Bool, started: NIODeadline, scrape: Bool
    ) {
        send(
            context: context, request: request, status: status, headers: extra, body: ByteBuffer(bytes: body),
            omitBody: omitBody, started: started, scrape: scrape)
    }

    private func send(
        context: ChannelHandlerContext, request: HTTPRequestHead, status: HTTPResponseStatus,
        headers extra: [(String, String)], body: ByteBuffer, omitBody: Bool, started: NIODeadline, scrape: Bool
    ) {
        guard active else {
            // The client went away while we rendered; there is nothing to write to.
            if scrape { recordScrape(code: Int(status.code), started: started) }
            return
        }
        let keepAlive = request.isKeepAlive && !closeAfterResponse
        var headers = HTTPHeaders(extra)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if !keepAlive {
            acceptsRequests = false
            headers.add(name: "Connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
        // The same timer bounds how long a client may take to accept the response.
        armTimer(context: context)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        if !omitBody && body.readableBytes > 0 {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        // NIO's pipelining handler may hand us the next request as soon as `.end` is written,
        // so become idle before writing it.
        state = .idle
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if scrape { self.recordScrape(code: Int(status.code), started: started) }
            guard self.active else { return }
            if case .idle = self.state { self.registry?.setBusy(context.channel, false) }
            if keepAlive && !self.closeAfterResponse {
                // A following request may already be arriving; it keeps the running timer.
                if case .idle = self.state { self.armTimer(context: context) }
            } else {
                self.cancelTimer()
                context.close(promise: nil)
            }
        }
    }

    private func recordScrape(code: Int, started: NIODeadline) {
        let elapsed = NIODeadline.now() - started
        provider.recordScrape(code: code, seconds: Double(elapsed.nanoseconds) / 1e9)
    }
}

@available(*, unavailable)
extension HTTPConnectionHandler: Sendable {}
