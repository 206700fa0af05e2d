"""``claimwatch feedserver``: serve transcript feeds and documents from a folder (dev/test).

Real formats with real headers: RSS/Atom/JSON Feed and HTML/text/WebVTT/SRT transcripts with
their media types, ``ETag`` and ``Last-Modified``, and 304 answers to conditional GETs.
``{{BASE_URL}}`` inside a served text file becomes the server's own URL, so sample feeds link
to sample transcripts on whatever port the server got. ``faults`` (in-process use) makes a
path answer with a given status, for tests of the pollers' error handling.
"""

from __future__ import annotations

import argparse
import hashlib
import threading
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_DIR = Path(__file__).resolve().parent / "samples" / "feeds"

CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".png": "image/png",
    ".pdf": "application/pdf",
}
TEMPLATED = frozenset({".rss", ".xml", ".atom", ".json", ".html", ".htm", ".txt"})


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.root = root.resolve()
        self.faults: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def start_background(self) -> FeedServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the pollers log what matters

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        if path in self.server.faults:
            self._send(self.server.faults[path], b"injected failure\n", "text/plain")
            return
        target = (self.server.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.server.root) or not target.is_file():
            self._send(404, b"not found\n", "text/plain")
            return
        body = target.read_bytes()
        if target.suffix in TEMPLATED:
            body = body.replace(b"{{BASE_URL}}", self.server.base_url.encode())
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        mtime = target.stat().st_mtime
        last_modified = formatdate(mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag or self._not_modified_since(mtime):
            self._send(304, b"", None, etag=etag, last_modified=last_modified)
            return
        ctype = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
        self._send(200, body, ctype, etag=etag, last_modified=last_modified)

    def _not_modified_since(self, mtime: float) -> bool:
        since = self.headers.get("If-Modified-Since")
        if not since or self.headers.get("If-None-Match"):
            return False
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str | None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if etag:
            self.send_header("ETag", etag)
        if last_modified:
            self.send_header("Last-Modified", last_modified)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch feedserver", description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder to serve")
    parser.add_argument("--host", default="127.0.0.1", help="loopback only by default")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        parser.error(f"--dir {args.dir}: not a folder")
    server = FeedServer(args.dir, args.host, args.port)
    print(f"feedserver ready on {server.base_url} serving {server.root}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
