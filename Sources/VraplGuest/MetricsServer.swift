#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore

/// A minimal HTTP/1.1 server for `/metrics` on plain POSIX sockets, one thread, one request per
/// connection (`Connection: close`). Enough for Prometheus scrapes and curl; no framework, so the
/// guest binary stays small and idle between scrapes.
public final class MetricsServer: @unchecked Sendable {
    public let address: String
    public let port: UInt16
    private let fd: Int32
    private let body: @Sendable () -> String
    private var thread: Thread?
    private let stopLock = NSLock()
    private var stopping = false

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
        guard listen(s, 16) == 0 else {
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
        let t = Thread { [self] in self.serve() }
        t.name = "vrapl-metrics"
        t.stackSize = 256 * 1024
        thread = t
        t.start()
    }

    /// Stops accepting and closes the socket.
    public func stop() {
        stopLock.lock()
        let already = stopping
        stopping = true
        stopLock.unlock()
        guard !already else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private var isStopping: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopping
    }

    private func serve() {
        // Leave SIGTERM/SIGINT to the sampling thread, so they interrupt its sleep.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGTERM)
        sigaddset(&mask, SIGINT)
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        while !isStopping {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // socket closed by stop()
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 16 * 1024 {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            request += buffer[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
            if let text = String(bytes: request, encoding: .utf8), text.contains("\r\n\r\n") || text.contains("\n\n") { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let status: String
        var contentType = "text/plain; charset=utf-8"
        var text: String
        if parts.count < 2 {
            status = "400 Bad Request"; text = "bad request\n"
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            status = "405 Method Not Allowed"; text = "only GET\n"
        } else {
            let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            switch path {
            case "/metrics":
                status = "200 OK"; contentType = PrometheusText.contentType; text = body()
            case "/", "/healthz":
                status = "200 OK"; text = "vrapl-guest \(VraplVersion.string): metrics at /metrics\n"
            default:
                status = "404 Not Found"; text = "not found\n"
            }
        }
        let payload = Array(text.utf8)
        var response = Array("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n".utf8)
        if parts.first != "HEAD" { response += payload }
        var sent = 0
        while sent < response.count {
            let n = response.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                #if canImport(Glibc)
                return send(client, base + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                #else
                return send(client, base + sent, raw.count - sent, 0)
                #endif
            }
            if n <= 0 { break }
            sent += n
        }
    }
}
