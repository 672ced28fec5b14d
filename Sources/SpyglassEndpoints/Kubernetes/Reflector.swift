import Foundation
import Logging

/// List + watch of one collection, kept current for ever: list (paged), then watch from the list's resource
/// version, re-watch when the server ends the stream, resume from the last seen version (bookmarks included) after
/// a dropped connection, relist after 410 Gone, and back off exponentially with jitter after errors.
struct Reflector<T: KubeObject>: Sendable {
    let resource: KubeResource
    let client: KubeClient
    let status: SourceStatus
    let logger: Logger
    /// The full current set (after a list).
    let replace: @Sendable ([T]) -> Void
    /// One change.
    let apply: @Sendable (WatchEventType, T) -> Void
    /// Synced (listed and watching) or not.
    let setSynced: @Sendable (Bool) -> Void

    func run() async {
        var version: String? = nil
        var backoff = Backoff(initial: client.limits.initialBackoff, maximum: client.limits.maxBackoff)
        while !Task.isCancelled {
            do {
                if version == nil {
                    version = try await list()
                    backoff.reset()
                }
                let started = ContinuousClock.now
                let events = try await watch(from: &version)
                if events > 0 { backoff.reset() }
                // A stream that ends at once without events (a misbehaving proxy) must not become a busy loop.
                if events == 0 && ContinuousClock.now - started < .seconds(1) {
                    try await Task.sleep(for: backoff.next())
                }
            } catch is CancellationError {
                break
            } catch let f as KubeClient.Failure {
                if case .gone = f {
                    // Our resource version is too old: start over with a fresh list, at once.
                    status.error("gone")
                    logger.info("watch expired (410 Gone), relisting", metadata: ["kind": "\(resource.kind)"])
                    version = nil
                    continue
                }
                status.error(f.reason, message: "\(resource.kind): \(f)")
                setSynced(false)
                logger.warning("Kubernetes \(resource.kind): \(f)")
                // A decode error or oversized event may repeat at the same version: relist past it.
                if case .decode = f { version = nil }
                if case .tooLarge = f { version = nil }
                if Task.isCancelled { break }
                try? await Task.sleep(for: backoff.next())
            } catch {
                if Task.isCancelled { break }
                status.error("connect", message: "\(resource.kind): \(error)")
                setSynced(false)
                logger.warning("Kubernetes \(resource.kind): \(error)")
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Lists every page; replaces the whole set. Returns the list's resource version.
    private func list() async throws -> String {
        var items: [T] = []
        var token: String? = nil
        var version = ""
        repeat {
            let page = try await client.listPage(resource, as: T.self, continueToken: token)
            items.append(contentsOf: page.items ?? [])
            token = page.metadata?.continue
            if token?.isEmpty == true { token = nil }
            version = page.metadata?.resourceVersion ?? version
        } while token != nil
        replace(items)
        status.event()
        setSynced(true)
        logger.debug("listed", metadata: ["kind": "\(resource.kind)", "items": "\(items.count)", "rv": "\(version)"])
        return version
    }

    /// Watches until the server ends the stream; `version` follows every event and bookmark. Returns the
    /// number of events seen.
    private func watch(from version: inout String?) async throws -> Int {
        var v = version ?? ""
        var count = 0
        defer { version = v }
        let decoder = JSONDecoder()
        let timeout = client.limits.watchTimeoutSeconds
        try await client.watch(
            resource, resourceVersion: v, timeoutSeconds: timeout,
            onConnected: { setSynced(true) },
            onLine: { line in
                try handle(line: line, decoder: decoder, version: &v)
                count += 1
            })
        return count
    }

    /// One watch event line: decoded, its resource version followed (bookmarks included), its change applied.
    /// ERROR events throw `.gone` (410, Expired) or `.status`; undecodable lines throw `.decode`.
    func handle(line: ArraySlice<UInt8>, decoder: JSONDecoder, version v: inout String) throws {
        let event: WatchEvent<T>
        do {
            event = try decoder.decode(WatchEvent<T>.self, from: Data(line))
        } catch {
            throw KubeClient.Failure.decode("\(resource.kind) watch event: \(error)")
        }
        status.event()
        switch event.type {
        case .error:
            let st = event.status
            if st?.code == 410 || st?.reason == "Expired" || st?.reason == "Gone" {
                throw KubeClient.Failure.gone(st?.message ?? "")
            }
            throw KubeClient.Failure.status(code: st?.code ?? 0, message: st?.message ?? "watch error")
        case .bookmark:
            if let rv = event.bookmarkVersion { v = rv }
        case .added, .modified, .deleted:
            guard let obj = event.object else { return }
            if let rv = obj.metadata.resourceVersion { v = rv }
            apply(event.type, obj)
        }
    }

    /// One list page's body, taken as the whole collection (what `list()` does with the pages it read).
    func replace(listBody: Data) throws {
        let page = try KubeClient.decodeList(listBody, as: T.self, kind: resource.kind)
        replace(page.items ?? [])
    }
}

/// The reflectors of all kinds, side by side.
protocol AnyReflector: Sendable {
    var resource: KubeResource { get }
    func run() async
    func handle(line: ArraySlice<UInt8>, decoder: JSONDecoder, version v: inout String) throws
    func replace(listBody: Data) throws
}

extension Reflector: AnyReflector {}
