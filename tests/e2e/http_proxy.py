"""A small HTTP proxy in front of the search engine for end-to-end tests: it forwards every request
and lets a test look at each one first, and answer some itself (to record credentials, or to
stage an outage)."""
import http.server
import threading

import requests


class ForwardingProxy:
    """Forwards HTTP requests to `target`. `on_request(handler)` (optional) sees each request
    first (its `command`, `path` and `headers`) and returns None to forward it, or an HTTP status
    to answer with instead (an empty body)."""

    def __init__(self, target, on_request=None):
        self.target = target.rstrip("/")
        self.on_request = on_request
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status = proxy.on_request(self) if proxy.on_request else None
                if status is not None:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "content-encoding")}
                try:
                    r = requests.request(self.command, proxy.target + self.path, data=body, headers=headers,
                                         timeout=60)
                except requests.RequestException as e:
                    self.send_error(502, str(e))
                    return
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection"):
                        self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length", r.headers.get("Content-Length", "0"))
                    self.end_headers()
                else:
                    self.send_header("Content-Length", str(len(r.content)))
                    self.end_headers()
                    self.wfile.write(r.content)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
