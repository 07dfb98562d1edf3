"""A target that redirects: /same to /final on itself, /cross to another host (127.0.0.2), which counts
every request it gets in a file. Run as its own process: `python redirect_target.py PORT_FILE HITS_FILE`."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

port_file, hits_file = Path(sys.argv[1]), Path(sys.argv[2])


class Elsewhere(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        hits_file.write_text(str(int(hits_file.read_text() or 0) + 1) if hits_file.exists() else "1")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"stolen": true}')

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args) -> None:
        pass


elsewhere = ThreadingHTTPServer(("127.0.0.2", 0), Elsewhere)


class Redirecting(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/final"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')
            return
        target = "/final" if self.path.startswith("/same") else f"http://127.0.0.2:{elsewhere.server_port}/landing"
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args) -> None:
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
written = port_file.with_suffix(".part")  # renamed whole: a reader never sees an empty port
written.write_text(str(server.server_port))
written.replace(port_file)
server.serve_forever()
