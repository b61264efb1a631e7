import Foundation
import Glibc
import Testing
import VraplCore
@testable import VraplGuest

/// The probe's F4 against the event-driven /metrics server, on loopback, every phase bounded in
/// count and time: slow and silent connections, a connection flood beyond the cap, oversized
/// requests. A fresh scrape must always answer within 1 s.
@Suite("Metrics server under hostile clients", .serialized)
struct MetricsServerTests {
    static func connectTo(_ port: UInt16) -> Int32 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if ok != 0 { close(s); return -1 }
        return s
    }

    static func send(_ s: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(s, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// One request on a fresh connection; the whole response and the seconds it took (nil on timeout).
    static func request(_ port: UInt16, _ text: String = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", timeout: Double = 3) -> (String, Double)? {
        let start = Date()
        let s = connectTo(port)
        guard s >= 0 else { return nil }
        defer { close(s) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        send(s, text)
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(s, $0.baseAddress, $0.count, 0) }
            if n < 0 { return nil }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        return (String(decoding: data, as: UTF8.self), Date().timeIntervalSince(start))
    }

    static func startServer() throws -> MetricsServer {
        let server = try MetricsServer(address: "127.0.0.1", port: 0) { "# TYPE vrapl_test gauge\nvrapl_test 1\n" }
        server.start()
        return server
    }

    @Test("40 trickling and 34 silent connections: 15 fresh scrapes each answer within 1 s")
    func slowClientsDoNotBlockScrapes() throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let port = server.boundPort
        var slow: [Int32] = []
        defer { for s in slow { close(s) } }
        for _ in 0..<40 {
            let s = Self.connectTo(port)
            try #require(s >= 0)
            Self.send(s, "G")
            slow.append(s)
        }
        for _ in 0..<34 {
            let s = Self.connectTo(port)
            try #require(s >= 0)
            slow.append(s)
        }
        var worst = 0.0
        for k in 0..<15 {
            // Keep trickling one byte a connection between scrapes, as slowloris does.
            for s in slow.prefix(40) { Self.send(s, "E") }
            let answer = try #require(Self.request(port, timeout: 1.5), "scrape \(k) got no answer")
            #expect(answer.0.hasPrefix("HTTP/1.1 200 OK") && answer.0.hasSuffix("vrapl_test 1\n"), "\(answer.0)")
            worst = max(worst, answer.1)
            usleep(50_000)
        }
        #expect(worst < 1.0, "slowest scrape took \(worst) s")
    }

    @Test("a connection that never finishes its request is closed at the deadline")
    func requestDeadline() throws {
        let server = try Self.startServer()
        server.requestDeadline = 0.3
        defer { server.stop() }
        let s = Self.connectTo(server.boundPort)
        try #require(s >= 0)
        defer { close(s) }
        Self.send(s, "GET /metr")
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let start = Date()
        var byte: UInt8 = 0
        let n = recv(s, &byte, 1, 0)
        #expect(n == 0, "expected the server to close the connection")
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test("oversized, odd and non-GET requests get their status, and the server keeps serving")
    func oddRequests() throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let port = server.boundPort
        let big = "GET /metrics HTTP/1.1\r\nX-Fill: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        #expect(Self.request(port, big)?.0.hasPrefix("HTTP/1.1 431") == true)
        #expect(Self.request(port, "POST /metrics HTTP/1.1\r\n\r\n")?.0.hasPrefix("HTTP/1.1 405") == true)
        #expect(Self.request(port, "GET /../../etc/passwd HTTP/1.1\r\n\r\n")?.0.hasPrefix("HTTP/1.1 404") == true)
        #expect(Self.request(port, "\u{1}\u{2}\n\n")?.0.hasPrefix("HTTP/1.1 400") == true)
        let head = Self.request(port, "HEAD /metrics HTTP/1.1\r\n\r\n")?.0 ?? ""
        #expect(head.hasPrefix("HTTP/1.1 200 OK") && head.hasSuffix("\r\n\r\n"), "\(head)")
        #expect(Self.request(port)?.0.hasSuffix("vrapl_test 1\n") == true)
    }

    @Test("200 connections at once, beyond the cap of 64: the server stays up and a scrape answers")
    func connectionFlood() throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let port = server.boundPort
        var flood: [Int32] = []
        defer { for s in flood { close(s) } }
        for _ in 0..<200 {
            let s = Self.connectTo(port)
            if s >= 0 { flood.append(s) }
        }
        let answer = try #require(Self.request(port, timeout: 2))
        #expect(answer.0.hasPrefix("HTTP/1.1 200 OK"))
        #expect(answer.1 < 1.0, "scrape took \(answer.1) s")
    }

    @Test("beyond the request rate connections wait in the backlog: every request answered, at the rate")
    func rateLimit() throws {
        final class Counter: @unchecked Sendable { var renders = 0 }
        let counter = Counter()
        let server = try MetricsServer(address: "127.0.0.1", port: 0) { counter.renders += 1; return "x 1\n" }
        server.maxRequestsPerSecond = 20
        server.burst = 5
        server.bodyCacheSeconds = 0
        server.start()
        defer { server.stop() }
        let start = Date()
        var ok = 0
        for _ in 0..<25 { if Self.request(server.boundPort)?.0.hasPrefix("HTTP/1.1 200") == true { ok += 1 } }
        let elapsed = Date().timeIntervalSince(start)
        #expect(ok == 25 && counter.renders == 25)
        // 5 from the burst, 20 more at 20 a second: about 1 s, never much faster.
        #expect(elapsed >= 0.8 && elapsed < 5, "25 requests took \(elapsed) s")
    }
}
