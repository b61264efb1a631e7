#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore

/// A small event-driven HTTP/1.1 server for `/metrics` on plain POSIX sockets: one thread (never the
/// sampling thread) multiplexes every connection with `poll`, one request per connection
/// (`Connection: close`). Enough for Prometheus scrapes and curl; no framework, so the guest binary
/// stays small and idle between scrapes.
///
/// What the network cannot do to it (docs/guest.md, "The /metrics endpoint"):
/// - hold it: every connection has `requestDeadline` from accept to a complete request header, and
///   `responseDeadline` to take the response; slow or silent clients are closed, never waited for;
/// - fill it: at most `maxConnections` are open; when a new one arrives at the cap, the oldest
///   connection still sending its request is closed to make room, so a fresh scrape always gets in;
/// - bloat it: a request header over `maxRequestBytes` gets `431` and is closed;
/// - starve sampling: connections are accepted at most `maxRequestsPerSecond` a second (the rest
///   wait in the kernel's backlog), the rendered body is reused for `bodyCacheSeconds`, and the
///   thread runs at nice 10.
public final class MetricsServer: @unchecked Sendable {
    public let address: String
    public let port: UInt16
    private let fd: Int32
    private let body: @Sendable () -> String
    private var thread: Thread?
    private let stopLock = NSLock()
    private var stopping = false
    /// The poll loop is running (set by `start`, cleared by the loop when it has closed everything).
    private var serving = false
    private var closed = false
    /// The write end of a pipe that wakes the poll loop on `stop()`.
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1

    public var maxConnections = 64
    public var maxRequestBytes = 8 * 1024
    public var requestDeadline = 2.0
    public var responseDeadline = 5.0
    public var maxRequestsPerSecond = 100.0
    /// Connections the bucket holds when full (a burst accepted at once).
    public var burst = 256.0
    public var bodyCacheSeconds = 0.1

    /// Whether the address is a loopback address (127.0.0.0/8): otherwise every host that can reach
    /// this VM can read its metrics, and the guest warns at start.
    public var isLoopback: Bool { address.hasPrefix("127.") }

    /// Parses `ADDR:PORT`, `:PORT` or `PORT` (address defaults to 127.0.0.1: loopback only).
    public static func parseListen(_ text: String) throws -> (String, UInt16) {
        var host = "127.0.0.1"
        var portText = text
        if let colon = text.lastIndex(of: ":") {
            let h = String(text[..<colon])
            if !h.isEmpty { host = h == "localhost" ? "127.0.0.1" : h }
            portText = String(text[text.index(after: colon)...])
        }
        guard let port = UInt16(portText), port > 0 else {
            throw VraplError("--listen \(text): expected ADDR:PORT with a port 1–65535")
        }
        var probe = in_addr()
        guard inet_pton(AF_INET, host, &probe) == 1 else {
            throw VraplError("--listen \(text): '\(host)' is not an IPv4 address")
        }
        return (host, port)
    }

    /// Binds and listens (so "address in use" fails here, at start). `body` renders the metrics text.
    public init(address: String, port: UInt16, body: @escaping @Sendable () -> String) throws {
        self.address = address
        self.port = port
        self.body = body
        let resource = "\(address):\(port)"
        #if canImport(Glibc)
        let socketType = Int32(SOCK_STREAM.rawValue)
        #else
        let socketType = SOCK_STREAM
        #endif
        let s = socket(AF_INET, socketType, 0)
        guard s >= 0 else { throw VraplError("cannot listen on \(resource): socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
            close(s)
            throw VraplError("cannot listen on \(resource): not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw VraplError("cannot listen on \(resource): \(reason)")
        }
        guard listen(s, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw VraplError("cannot listen on \(resource): \(reason)")
        }
        fd = s
    }

    /// The port actually bound (useful with port 0 in tests).
    public var boundPort: UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return ok == 0 ? UInt16(bigEndian: addr.sin_port) : port
    }

    /// Serves on a background thread until `stop()`.
    public func start() {
        var pipeFds: [Int32] = [-1, -1]
        if pipe(&pipeFds) == 0 {
            wakeRead = pipeFds[0]; wakeWrite = pipeFds[1]
            _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        stopLock.lock()
        serving = wakeRead >= 0 && !stopping
        stopLock.unlock()
        guard serving else { return }
        let t = Thread { [self] in self.serve() }
        t.name = "vrapl-metrics"
        t.stackSize = 256 * 1024
        thread = t
        t.start()
    }

    /// Stops accepting, closes every connection and the socket.
    public func stop() {
        stopLock.lock()
        defer { stopLock.unlock() }
        guard !stopping else { return }
        stopping = true
        if serving {
            // Wake the poll loop; it closes every descriptor on its way out.
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        } else if !closed {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            closed = true
        }
    }

    private var isStopping: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopping
    }

    /// One open connection: reading its request, then writing its response.
    struct Connection {
        let fd: Int32
        let acceptedAt: Double
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var writing: Bool { !response.isEmpty }
    }

    private static func now() -> Double { Double(SampleClock.monotonicNs()) / 1e9 }

    private func serve() {
        // Leave SIGTERM/SIGINT to the sampling thread, so they interrupt its sleep.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGTERM)
        sigaddset(&mask, SIGINT)
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        // Below the sampling thread: under a CPU quota the network waits, sampling does not. (On Linux
        // the nice value belongs to the thread, and who = 0 means the calling thread.)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        var connections: [Connection] = []
        var tokens = burst, tokensAt = Self.now()
        var cachedBody = "", cachedAt = -Double.infinity
        var buffer = [UInt8](repeating: 0, count: 4096)
        defer {
            for c in connections { close(c.fd) }
            stopLock.lock()
            close(fd)
            close(wakeRead)
            close(wakeWrite)
            serving = false
            closed = true
            stopLock.unlock()
        }
        while !isStopping {
            // Connections are accepted only while the token bucket (maxRequestsPerSecond) has a token:
            // beyond that rate new clients wait in the kernel's backlog, so a flood costs this process
            // nothing and, under a CPU quota, never takes the sampling thread's share.
            let now = Self.now()
            tokens = min(burst, tokens + (now - tokensAt) * maxRequestsPerSecond)
            tokensAt = now
            let accepting = tokens >= 1
            var fds = [pollfd(fd: fd, events: accepting ? Int16(POLLIN) : 0, revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for c in connections { fds.append(pollfd(fd: c.fd, events: Int16(c.writing ? POLLOUT : POLLIN), revents: 0)) }
            var nextDeadline = connections.map { $0.acceptedAt + ($0.writing ? responseDeadline : requestDeadline) }.min() ?? now + 60
            if !accepting { nextDeadline = min(nextDeadline, now + (1 - tokens) / maxRequestsPerSecond) }
            let timeoutMs = Int32(max(0, min(60_000, (nextDeadline - now) * 1000)).rounded(.up))
            let ready = poll(&fds, nfds_t(fds.count), timeoutMs)
            if ready < 0 && errno != EINTR { return }
            if isStopping { return }
            let t = Self.now()
            var closing = Set<Int32>()
            // Existing connections first (their indices match fds[2...]).
            for i in connections.indices {
                let events = Int32(fds[i + 2].revents)
                var c = connections[i]
                if events & Int32(POLLERR | POLLHUP | POLLNVAL) != 0 && !(c.writing == false && events & Int32(POLLIN) != 0) {
                    closing.insert(c.fd); continue
                }
                if !c.writing && events & Int32(POLLIN) != 0 {
                    let n = buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 {
                        if n == 0 || (errno != EAGAIN && errno != EINTR) { closing.insert(c.fd); continue }
                    } else {
                        c.request += buffer[0..<n]
                        if let headerEnd = Self.headerEnd(c.request) {
                            c.response = respond(to: Array(c.request[..<headerEnd])) {
                                if t - cachedAt >= bodyCacheSeconds { cachedBody = body(); cachedAt = t }
                                return cachedBody
                            }
                        } else if c.request.count > maxRequestBytes {
                            c.response = Self.response(status: "431 Request Header Fields Too Large", text: "request too large\n", head: false)
                        }
                    }
                }
                if c.writing {
                    let n = c.response.withUnsafeBytes { raw -> Int in
                        send(c.fd, raw.baseAddress! + c.sent, raw.count - c.sent, Int32(MSG_NOSIGNAL))
                    }
                    if n > 0 { c.sent += n } else if errno != EAGAIN && errno != EINTR { closing.insert(c.fd); continue }
                    if c.sent >= c.response.count { closing.insert(c.fd); continue }
                }
                if t - c.acceptedAt > (c.writing ? responseDeadline : requestDeadline) { closing.insert(c.fd); continue }
                connections[i] = c
            }
            if !closing.isEmpty {
                for c in connections where closing.contains(c.fd) { Self.drainAndClose(c.fd) }
                connections.removeAll { closing.contains($0.fd) }
            }
            // New connections: accept all that wait; at the cap, make room by closing the oldest
            // connection still sending its request.
            if Int32(fds[0].revents) & Int32(POLLIN) != 0 {
                while tokens >= 1 {
                    let client = accept(fd, nil, nil)
                    if client < 0 { break }
                    _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    if connections.count >= maxConnections {
                        if let oldest = connections.indices.filter({ !connections[$0].writing })
                            .min(by: { connections[$0].acceptedAt < connections[$1].acceptedAt }) {
                            close(connections[oldest].fd)
                            connections.remove(at: oldest)
                        } else {
                            close(client)
                            continue
                        }
                    }
                    connections.append(Connection(fd: client, acceptedAt: t))
                    tokens -= 1
                }
            }
        }
    }

    /// Reads what the client already sent (at most 256 KiB, without waiting) before closing, so that
    /// unread request bytes do not turn the close into a reset that discards the response.
    static func drainAndClose(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var buffer = [UInt8](repeating: 0, count: 16_384)
        for _ in 0..<16 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
        }
        close(fd)
    }

    /// The end of the request header (index after the blank line), if it has arrived.
    static func headerEnd(_ request: [UInt8]) -> Int? {
        guard request.count >= 2 else { return nil }
        for i in 1..<request.count where request[i] == 10 {
            if request[i - 1] == 10 { return i + 1 }
            if i >= 3 && request[i - 1] == 13 && request[i - 2] == 10 && request[i - 3] == 13 { return i + 1 }
        }
        return nil
    }

    static func response(status: String, contentType: String = "text/plain; charset=utf-8", text: String, head: Bool) -> [UInt8] {
        let payload = Array(text.utf8)
        var response = Array("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n".utf8)
        if !head { response += payload }
        return response
    }

    /// The response to one request header.
    func respond(to request: [UInt8], metrics: () -> String) -> [UInt8] {
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let head = parts.first == "HEAD"
        if parts.count < 2 {
            return Self.response(status: "400 Bad Request", text: "bad request\n", head: false)
        } else if parts[0] != "GET" && !head {
            return Self.response(status: "405 Method Not Allowed", text: "only GET\n", head: false)
        }
        let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        switch path {
        case "/metrics":
            return Self.response(status: "200 OK", contentType: PrometheusText.contentType, text: metrics(), head: head)
        case "/", "/healthz":
            return Self.response(status: "200 OK", text: "vrapl-guest \(VraplVersion.string): metrics at /metrics\n", head: head)
        default:
            return Self.response(status: "404 Not Found", text: "not found\n", head: head)
        }
    }
}
