"""A minimal HTTP/1.1 keep-alive target for benchmarks: answers every request with a tiny JSON body.

Raw gevent sockets, no framework, so the load generator, not the target, is what a benchmark measures.
Usage: python bench/minimal_target.py PORT_FILE
"""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import gevent
from gevent.server import StreamServer

BODY = b'{"status":"ok"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\nConnection: keep-alive\r\n\r\n"
    + BODY
)


def handle(sock: socket.socket, _address) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:].strip())
                while len(buffer) < length:
                    more = sock.recv(65536)
                    if not more:
                        return
                    buffer += more
                buffer = buffer[length:]
                sock.sendall(RESPONSE)
    except OSError:
        return
    finally:
        sock.close()


def main() -> None:
    server = StreamServer(("127.0.0.1", 0), handle, backlog=1024)
    server.start()
    Path(sys.argv[1]).write_text(str(server.server_port))
    gevent.signal_handler(signal.SIGTERM, server.stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
