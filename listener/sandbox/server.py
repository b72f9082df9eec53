"""A tiny HTTP server that real client libraries can be pointed at.

Why not a mocking library: Earful's adapters use six different HTTP stacks (requests, urllib3 via
praw, httplib2 via googleapiclient, httpx, ...). A real socket on 127.0.0.1 is the one thing all of
them speak, so the same fake serves the demo and the integration tests.

Two details make clients behave (see PLATFORMS.md): paths match with and without a trailing slash,
and a request that says ``Connection: close`` gets ``Connection: close`` back (otherwise urllib3
reuses a socket we are about to close and praw reports a spurious disconnect).

Several fakes can share one port: ``mount("mastodon", app)`` serves ``app`` under ``/mastodon``. Clients
that resolve relative paths with ``urljoin`` drop such a prefix when the base URL lacks a trailing
slash (prawcore's ``oauth_url``, googleapiclient's ``api_endpoint``), so a path that no prefix claims is
given to the one mounted fake that serves it, if exactly one does.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from listener.sandbox.faults import Fault, FaultKind, FaultQueue, ErrorStyle, apply_corruption

LOOPBACK = "127.0.0.1"


def loopback_host(host: str) -> str:
    """Refuse anything but the loopback interface: the sandbox accepts any client that knows its
    fixed, published credentials, so it must never be reachable from another machine."""
    if host in (LOOPBACK, "localhost"):
        return LOOPBACK
    raise ValueError(f"the sandbox only binds to {LOOPBACK}, not {host!r}; use --host 127.0.0.1")


@dataclass(slots=True)
class Request:
    """One parsed request as a handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # {placeholders} from the route
    host: str = ""
    prefix: str = ""  # the mount prefix the client used ("/mastodon"), "" when served at the root

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeated query parameter (``types[]=a&types[]=b`` or ``ids=a,b``)."""
        values = self.query.get(name, [])
        return [part for value in values for part in value.split(",") if part]

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """The body as a form (or JSON object), flattened to the first value of each key."""
        content_type = self.headers.get("content-type", "")
        if "json" in content_type:
            data = self.json()
            return {k: v for k, v in data.items()} if isinstance(data, dict) else {}
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    @property
    def base_url(self) -> str:
        """The URL the client used to reach this fake (with its prefix), for self-links such as Link headers."""
        return f"http://{self.host}{self.prefix}" if self.host else self.prefix


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def empty(cls, status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status=status, body=b"", content_type="", headers=dict(headers or {}))

    @classmethod
    def text(cls, body: str, content_type: str, status: int = 200,
             headers: Mapping[str, str] | None = None) -> Response:
        return cls(status=status, body=body.encode("utf-8"), content_type=content_type,
                   headers=dict(headers or {}))


@dataclass(slots=True)
class RecordedRequest:
    """What a client sent, kept so tests can assert on it (auth headers, bodies, counts)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: datetime
    route: str | None = None
    status: int | None = None
    fault: FaultKind | None = None
    prefix: str = ""  # "/reddit" when the client used the platform's path prefix, "" otherwise

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


Handler = Callable[[Request], Response]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``/r/{sub}/search`` -> a regex that also accepts a trailing slash."""
    parts = re.split(r"(\{\w+\})", pattern.rstrip("/") or "/")
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+?)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}/?$")


class FakeServer:
    """A route table on a ThreadingHTTPServer bound to 127.0.0.1, with recording and faults."""

    def __init__(self, name: str = "fake", *, port: int = 0, host: str = LOOPBACK,
                 clock: Callable[[], datetime] | None = None, style: ErrorStyle | None = None) -> None:
        self.name = name
        self._host = loopback_host(host)
        self._port = port
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(timezone.utc))
        self.style: ErrorStyle = style or ErrorStyle()
        self.faults = FaultQueue()
        self._routes: list[Route] = []
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.before_response: list[Callable[[Request, Response], None]] = []
        self._mounts: dict[str, FakeServer] = {}

    # --- routes -------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), pattern, compile_pattern(pattern), handler))

    def mount(self, prefix: str, app: FakeServer) -> None:
        """Serve ``app`` under ``/prefix`` on this server's port (its records and faults stay its own)."""
        self._mounts[prefix.strip("/")] = app
        app.stopping = self.stopping

    def serves(self, path: str) -> bool:
        return any(route.regex.match(path) for route in self._routes)

    def resolve(self, path: str) -> tuple[FakeServer, str, str]:
        """(fake, prefix, path inside it) for a request path, following mounts."""
        path = re.sub("/{2,}", "/", path) or "/"
        if not self._mounts:
            return self, "", path
        first = path.split("/", 2)[1]
        inner = "/" + path.split("/", 2)[2] if path.count("/") > 1 else "/"
        mounted = self._mounts.get(first)
        if mounted is not None and mounted.serves(inner):
            return mounted, f"/{first}", inner
        claimants = [app for app in self._mounts.values() if app.serves(path)]
        if len(claimants) == 1:
            return claimants[0], "", path
        if mounted is not None:
            return mounted, f"/{first}", inner  # unknown path: the platform's own 404
        return self, "", path

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Returns (route, params, path_known_for_another_method)."""
        other_method = False
        for route in self._routes:
            found = route.regex.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict(), False
                other_method = True
        return None, {}, other_method

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        self._httpd = _HTTPServer((self._host, self._port), _RequestHandler, self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()  # releases injected delays
        self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    # --- faults -------------------------------------------------------------------------------
    def inject(self, kind: FaultKind | str, *, route: str | None = None, method: str | None = None,
               times: int = 1, with_reset: bool = True, retry_after_s: int = 60,
               delay_s: float = 5.0, status: int = 500) -> Fault:
        """Queue the next ``times`` answers of ``route`` (a registered pattern or a literal path;
        None for any route) to fail in the given way. See ``FaultKind`` for the kinds."""
        fault = Fault(FaultKind(kind), route=route, method=method.upper() if method else None,
                      remaining=times, with_reset=with_reset, retry_after_s=retry_after_s,
                      delay_s=delay_s, status=status)
        self.faults.add(fault)
        return fault

    # --- recording ----------------------------------------------------------------------------
    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first; ``path`` matches a route pattern or a literal path."""
        with self._lock:
            found = list(self._requests)
        if method:
            found = [r for r in found if r.method == method.upper()]
        if path:
            want = path.rstrip("/")
            found = [r for r in found if (r.route or "").rstrip("/") == want or r.path.rstrip("/") == want]
        return found

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def errors(self) -> list[str]:
        """Tracebacks of handler crashes (each also answered 500): a test should expect none."""
        with self._lock:
            return list(self._errors)

    # --- dispatch (called on a server thread) -----------------------------------------------
    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(rec)

    def dispatch(self, method: str, target: str, headers: dict[str, str],
                 body: bytes) -> tuple[Response | None, RecordedRequest]:
        """Resolve mounts, record the request on the fake that serves it, and answer it."""
        split = urlsplit(target)
        app, prefix, path = self.resolve(split.path or "/")
        query = parse_qs(split.query, keep_blank_values=True)
        req = Request(method, path, query, headers, body, host=headers.get("host", ""), prefix=prefix)
        rec = RecordedRequest(method, path, query, headers, body, at=app.clock(), prefix=prefix)
        app._record(rec)
        response = app._handle(req, rec)
        if response is not None:
            rec.status = response.status
        return response, rec

    def _handle(self, req: Request, rec: RecordedRequest) -> Response | None:
        """Answer one request; None means: drop the connection without answering."""
        route, params, other_method = self._match(req.method, req.path)
        rec.route = route.pattern if route else None
        if route is None:
            return self.style.method_not_allowed() if other_method else self.style.not_found()
        req.params = params
        fault = self.faults.take(req.method, route.pattern, req.path)
        if fault is not None:
            rec.fault = fault.kind
            if fault.kind is FaultKind.DISCONNECT:
                return None
            if fault.kind is FaultKind.DELAY:
                if self.stopping.wait(fault.delay_s):
                    return None
            elif fault.kind is FaultKind.RATE_LIMIT:
                return self.style.rate_limited(fault, self.clock())
            elif fault.kind is FaultKind.SERVER_ERROR:
                return self.style.server_error(fault.status)
            elif fault.kind is FaultKind.UNAUTHORIZED:
                return self.style.unauthorized()
        try:
            response = route.handler(req)
        except Exception:  # a crash in the fake itself: answer 500, keep it for the test to see
            with self._lock:
                self._errors.append(f"{req.method} {req.path}\n{traceback.format_exc()}")
            return self.style.server_error(500)
        if fault is not None and fault.kind is FaultKind.LOST_ANSWER:
            rec.status = response.status  # what the platform did, though the caller never hears it
            self.stopping.wait(fault.delay_s)
            return None
        for hook in self.before_response:
            hook(req, response)
        if fault is not None and fault.kind in (FaultKind.MALFORMED, FaultKind.MISSING_FIELDS):
            response = apply_corruption(response, fault.kind, self.style)
        return response


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 fake: FakeServer) -> None:
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Keep-alive sockets would otherwise keep answering after stop()."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each answer waited ~40 ms for
    # the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        return

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        wants_close = headers.get("connection", "").lower() == "close"
        response, _ = self.server.fake.dispatch(self.command, self.path, headers, body)
        if response is None:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status not in (204, 304):
                self.send_header("Content-Length", str(len(response.body)))
            if wants_close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if response.status not in (204, 304) and self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. after a timeout)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch
