"""A loopback HTTP/1.1 server with a fixed delay per path, which records how long it
really held each request, so the truth a load tester should report is known.

``GET /delay/<ms>`` answers ``ok`` after ``<ms>`` milliseconds (keep-alive).
``GET /__stats`` returns, and resets, ``{path: [hold time in µs, ...]}``.

The hold time runs from the moment the kernel received the request (the
socket's SO_TIMESTAMPNS receive timestamp, so a server thread that was slow to
wake up on a busy machine is counted) to the moment the response was handed
to the kernel. A thread per connection sleeping with ``time.sleep`` is close
to the nominal delay at the low load this is for; whatever it really took is
what gets recorded.

Usage: ``python bench/accuracy_server.py PORT`` (prints ``ready`` once listening);
``python bench/accuracy_server.py --probe PORT N``: N keep-alive GETs of
``/probe`` (no delay) with pauses like a thinking user, printing the client-side
round trips (µs) as JSON: what loopback and the machine add, seen from the
generator's CPU.
"""

from __future__ import annotations

import json
import random
import socket
import socketserver
import struct
import sys
import threading
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python lacks the name
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

_holds: dict[str, list[int]] = {}
_lock = threading.Lock()


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        anc_size = socket.CMSG_SPACE(16)
        buf = b""
        t0 = 0
        while True:
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                chunk, anc, _, _ = sock.recvmsg(65536, anc_size)
                if not chunk:
                    return
                t0 = time.time_ns()
                for level, kind, data in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                        sec, nsec = struct.unpack("qq", data[:16])
                        t0 = sec * 1_000_000_000 + nsec
                buf += chunk
                end = buf.find(b"\r\n\r\n")
            head, buf = buf[:end], buf[end + 4 :]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buf) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            buf = buf[length:]
            path = head.split(b" ", 2)[1].decode()
            if path == "/__stats":
                with _lock:
                    body = json.dumps(_holds).encode()
                    _holds.clear()
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                continue
            delay_ms = float(path.rsplit("/", 1)[1]) if path.startswith("/delay/") else 0.0
            if delay_ms > 0:
                time.sleep(delay_ms / 1000)
            sock.sendall(RESPONSE)
            hold = time.time_ns() - t0
            with _lock:
                _holds.setdefault(path, []).append(hold // 1000)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def probe(port: int, n: int) -> list[int]:
    """Client-side round trips (µs) to ``/probe``, pausing 20-60 ms between them."""
    req = b"GET /probe HTTP/1.1\r\nHost: x\r\n\r\n"
    out = []
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            time.sleep(0.02 + random.random() * 0.04)
            t0 = time.perf_counter_ns()
            s.sendall(req)
            got = b""
            while not got.endswith(b"ok"):
                got += s.recv(4096)
            out.append((time.perf_counter_ns() - t0) // 1000)
    return out


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        print(json.dumps(probe(int(sys.argv[2]), int(sys.argv[3]))))
        return
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with Server(("127.0.0.1", port), Handler) as server:
        print("ready", server.server_address[1], flush=True)
        server.serve_forever(poll_interval=0.5)


if __name__ == "__main__":
    main()
