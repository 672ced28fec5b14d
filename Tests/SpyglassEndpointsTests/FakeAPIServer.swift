import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A tiny Kubernetes API server on 127.0.0.1 for tests: serves canned list JSON per path, holds watch requests
/// open as chunked streams the test writes events into, ends or drops them, and can answer with a status
/// (e.g. 410) once.
final class FakeAPIServer: Sendable {
    struct Request: Sendable {
        var path: String
        var query: [String: String]
        var headers: [(String, String)]
        var at: ContinuousClock.Instant
        var isWatch: Bool { query["watch"] == "1" || query["watch"] == "true" }
    }

    private struct State {
        var lists: [String: String] = [:]
        var watches: [String: [Channel]] = [:]
        var requests: [Request] = []
        var oneShotStatus: [String: [(Int, String)]] = [:]  // "list:/path" or "watch:/path"
    }
    private let state = Mutex(State())
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    let port: Int
    let scheme: String

    init(tls: NIOSSLContext? = nil) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let box = ServerBox()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    if let tls { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                    try ch.pipeline.syncOperations.addHandler(Handler(box: box))
                }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress!.port!
        scheme = tls == nil ? "http" : "https"
        box.server.withLock { $0 = self }
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    func shutdown() {
        let chans = state.withLock { s in s.watches.values.flatMap { $0 } }
        for c in chans { c.close(promise: nil) }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: Scripting

    func setList(_ path: String, _ json: String) { state.withLock { $0.lists[path] = json } }

    /// The next list (or watch) of `path` gets this status and body instead.
    func failNext(list path: String, status: Int, body: String = "") {
        state.withLock { $0.oneShotStatus["list:" + path, default: []].append((status, body)) }
    }
    func failNext(watch path: String, status: Int, body: String = "") {
        state.withLock { $0.oneShotStatus["watch:" + path, default: []].append((status, body)) }
    }

    /// Writes one event line into every open watch of `path`.
    func send(_ path: String, _ line: String) {
        let chans = state.withLock { $0.watches[path] ?? [] }
        for c in chans {
            var buf = c.allocator.buffer(capacity: line.utf8.count + 1)
            buf.writeString(line + "\n")
            c.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buf)), promise: nil)
        }
    }

    /// Ends open watches of `path` cleanly (as the server does at timeoutSeconds).
    func endWatches(_ path: String) {
        let chans = state.withLock { s -> [Channel] in
            defer { s.watches[path] = [] }
            return s.watches[path] ?? []
        }
        for c in chans { c.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil) }
    }

    /// Drops the connections of open watches of `path` without ending the response.
    func dropWatches(_ path: String) {
        let chans = state.withLock { s -> [Channel] in
            defer { s.watches[path] = [] }
            return s.watches[path] ?? []
        }
        for c in chans { c.close(promise: nil) }
    }

    var requests: [Request] { state.withLock { $0.requests } }
    func requests(_ path: String) -> [Request] { requests.filter { $0.path == path } }
    func openWatches(_ path: String) -> Int { state.withLock { $0.watches[path]?.count ?? 0 } }

    /// Waits until `path` has an open watch (returns its request), or fails after `timeout`.
    func waitForWatch(_ path: String, count: Int = 1, timeout: Duration = .seconds(10)) async throws -> Request {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if openWatches(path) >= 1, requests(path).filter(\.isWatch).count >= count {
                return requests(path).last(where: \.isWatch)!
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw FakeServerTimeout(what: "watch #\(count) of \(path)")
    }

    // MARK: Serving

    enum Answer {
        case full(Int, String)
        case watch
    }

    fileprivate func answer(uri: String, headers: HTTPHeaders) -> Answer {
        let comps = URLComponents(string: uri)
        let path = comps?.path ?? uri
        var query: [String: String] = [:]
        for item in comps?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let req = Request(path: path, query: query, headers: headers.map { ($0.name, $0.value) }, at: .now)
        return state.withLock { s -> Answer in
            s.requests.append(req)
            let key = (req.isWatch ? "watch:" : "list:") + path
            if var q = s.oneShotStatus[key], !q.isEmpty {
                let (status, body) = q.removeFirst()
                s.oneShotStatus[key] = q
                return .full(status, body)
            }
            if req.isWatch { return .watch }
            return .full(
                200,
                s.lists[path] ?? #"{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#)
        }
    }

    fileprivate func registerWatch(_ uri: String, _ ch: Channel) {
        let path = URLComponents(string: uri)?.path ?? uri
        state.withLock { $0.watches[path, default: []].append(ch) }
        ch.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { s in s.watches[path]?.removeAll { $0 === ch } }
        }
    }
}

struct FakeServerTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

private final class ServerBox: Sendable {
    let server = Mutex<FakeAPIServer?>(nil)
}

private final class Handler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let box: ServerBox
    var head: HTTPRequestHead?

    init(box: ServerBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head, let server = box.server.withLock({ $0 }) else { return }
            switch server.answer(uri: head.uri, headers: head.headers) {
            case .full(let status, let body):
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: String(body.utf8.count))
                context.write(
                    wrapOutboundOut(
                        .head(
                            HTTPResponseHead(
                                version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
                        )), promise: nil)
                var buf = context.channel.allocator.buffer(capacity: body.utf8.count)
                buf.writeString(body)
                context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .watch:
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Transfer-Encoding", value: "chunked")
                context.writeAndFlush(
                    wrapOutboundOut(
                        .head(
                            HTTPResponseHead(
                                version: head.version, status: .ok, headers: headers))), promise: nil)
                server.registerWatch(head.uri, context.channel)
            }
            self.head = nil
        }
    }
}
