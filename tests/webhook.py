"""A local HTTP endpoint for Apprise's json:// channels: it answers each POST
with the next status of `statuses` (then 200) and keeps what it received."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received = []  # the JSON bodies, in order, failed ones included
        self.paths = []  # the path each was posted to, in the same order
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.received.append(json.loads(body or b"{}"))
                endpoint.paths.append(self.path)
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="hook"):
        return f"json://127.0.0.1:{self.server.server_address[1]}/{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
