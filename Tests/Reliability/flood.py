#!/usr/bin/env python3
"""Loopback request flood for /metrics: flood.py PORT SECONDS THREADS (bounded in time; 127.0.0.1 only)."""
import socket, sys, time, threading
port = int(sys.argv[1]); seconds = float(sys.argv[2]); conns = int(sys.argv[3])
stop = time.time() + seconds
count = [0]
def worker():
    while time.time() < stop:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            while s.recv(65536): pass
            s.close(); count[0] += 1
        except OSError:
            pass
ts = [threading.Thread(target=worker) for _ in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
print("requests", count[0], "in", seconds, "s")
