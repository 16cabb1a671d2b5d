"""make dev's front door: a small HTTP/1.1 reverse proxy in front of `cargo lambda watch`.

Why: watch turns a request into an API Gateway event itself, and a body that is not UTF-8 under a text
content type (none, text/*, application/json) makes it answer 500 before any function runs. API Gateway
instead delivers such a body base64-encoded and the function answers it in the vendor's envelope. Watch
base64-encodes bodies of other content types, and its check is case-sensitive while media types are not
(RFC 9110): so for exactly those bodies this proxy sends the same content type with its first letter in
upper case (none becomes `Application/json`, which the functions read as they read no content type).
Everything else passes through unchanged. Nothing is logged: requests carry secrets.

It also holds a burst: at most CONCURRENCY requests reach watch at once (the `--concurrency` it was started
with), the others wait here, connected, for a slot. Watch given more at once than it has function instances
stopped answering altogether (128 concurrent creates left it hung); API Gateway answers every request.

Usage: python dev-proxy.py LISTEN_PORT UPSTREAM_PORT [CONCURRENCY]
"""

import http.client
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
MAX_BODY = 8 * 1024 * 1024  # far above the functions' 64 KiB limit: they answer 413 themselves


def watch_would_refuse(content_type, body):
    """Whether watch would read `body` as text and fail on it."""
    if not body:
        return False
    try:
        body.decode("utf-8")
        return False
    except UnicodeDecodeError:
        pass
    return content_type is None or content_type.startswith("text/") or content_type.startswith("application/json")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream_port = 0
    upstream_slots = threading.BoundedSemaphore(16)

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("content-length")
        return self.rfile.read(length)

    def forward(self):
        try:
            body = self.read_body()
        except ValueError:
            self.send_error(400, "Bad Request: unreadable body")
            return
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        content_type = self.headers.get("content-type")
        if watch_would_refuse(content_type, body):
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            fixed = content_type[:1].upper() + content_type[1:] if content_type else "Application/json"
            headers.append(("Content-Type", fixed))
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        try:
            with self.upstream_slots:
                status, reason, reply_headers, reply = self.upstream(body, headers)
        except (http.client.InvalidURL, ValueError, UnicodeError):
            # A path or header no HTTP client may send on: the request's own fault.
            self.send_error(400, "Bad Request")
            return
        self.send_response_only(status, reason)  # watch's own Date; no Server header of ours
        for k, v in reply_headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    def upstream(self, body, headers):
        # Watch may still be building on the first requests: wait for it rather than answer 502.
        deadline = time.monotonic() + 600
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=300)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body)
                res = conn.getresponse()
                return res.status, res.reason, res.getheaders(), res.read()
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    return 503, "Service Unavailable", [("Content-Type", "text/plain")], b"watch is not running\n"
                time.sleep(0.5)
            except (OSError, http.client.HTTPException) as e:
                # Watch dropped the request: still an answer with a status, as API Gateway gives one.
                detail = f"cargo lambda watch dropped the request: {type(e).__name__}\n".encode()
                return 502, "Bad Gateway", [("Content-Type", "text/plain")], detail
            finally:
                conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = forward


class Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a burst of connections overflowed it and some clients were reset
    # before any answer (issue 13: 3 to 18 of 64 concurrent creates). The kernel caps it at somaxconn.
    request_queue_size = 1024
    daemon_threads = True


def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    Proxy.upstream_port = upstream
    if len(sys.argv) > 3:
        Proxy.upstream_slots = threading.BoundedSemaphore(int(sys.argv[3]))
    server = Server(("127.0.0.1", listen), Proxy)
    server.serve_forever()


if __name__ == "__main__":
    main()
