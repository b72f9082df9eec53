"""``Sandbox``: all eight fake platforms over one shared ``World``.

By default everything listens on one port with a path per platform (``http://127.0.0.1:8700/mastodon``,
``/reddit``, ``/x`` ...), which is simple to configure. ``layout="ports"`` gives each platform its own
port instead (``port`` .. ``port + 7`` in ``PLATFORMS`` order), for a client that cannot live under a
path prefix. Both layouts are exercised by the integration tests with the real client libraries.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Literal

from listener.sandbox import bluesky, discourse, hackernews, mastodon, reddit, rss, x, youtube
from listener.sandbox.credentials import SandboxCredentials
from listener.sandbox.faults import Fault, FaultKind
from listener.sandbox.server import LOOPBACK, FakeServer, RecordedRequest, loopback_host
from listener.sandbox.world import PLATFORMS, World, utc_now

Layout = Literal["paths", "ports"]


class Sandbox:
    """Start with ``start()`` (or ``with Sandbox() as sb:``); ``base_urls[platform]`` is where each fake
    is reached. ``port=0`` picks a free port. ``tick_interval_s`` runs a background thread that calls
    ``world.tick()`` (for the demo on the real clock); tests leave it None and tick themselves."""

    def __init__(self, world: World | None = None, *, seed: int = 7,
                 clock: Callable[[], datetime] | None = None, rate_per_min: float = 4.0,
                 backlog: timedelta = timedelta(hours=1), host: str = LOOPBACK, port: int = 0,
                 layout: Layout = "paths", credentials: SandboxCredentials | None = None,
                 tick_interval_s: float | None = None) -> None:
        self.world = world or World(seed=seed, clock=clock, rate_per_min=rate_per_min, backlog=backlog)
        self.credentials = credentials or SandboxCredentials()
        self.layout = layout
        host = loopback_host(host)
        creds = self.credentials
        self.servers: dict[str, FakeServer] = {
            name: FakeServer(name, host=host, port=(port + i if port and layout == "ports" else 0),
                             clock=self.world.clock)
            for i, name in enumerate(PLATFORMS)}
        self.front: FakeServer | None = None
        if layout == "paths":
            self.front = FakeServer("sandbox", host=host, port=port, clock=self.world.clock)
            for name, server in self.servers.items():
                self.front.mount(name, server)
        s, w = self.servers, self.world
        self.apis: dict[str, Any] = {
            "x": x.install(s["x"], w, creds.x),
            "reddit": reddit.install(s["reddit"], w, creds.reddit),
            "mastodon": mastodon.install(s["mastodon"], w, creds.mastodon),
            "bluesky": bluesky.install(s["bluesky"], w, creds.bluesky),
            "youtube": youtube.install(s["youtube"], w, creds.youtube),
            "hackernews": hackernews.install(s["hackernews"], w),
            "discourse": discourse.install(s["discourse"], w, creds.discourse),
            "rss": rss.install(s["rss"], w),
        }
        self._tick_interval_s = tick_interval_s
        self._ticker: threading.Thread | None = None
        self._stop_ticker = threading.Event()

    @classmethod
    def from_config(cls, config: Any, *, clock: Callable[[], datetime] | None = None) -> Sandbox:
        """From Earful's ``sandbox`` config section (host, port, seed, rate_per_minute,
        spike_after_minutes): a live sandbox on the real clock that ticks every second."""
        clock = clock or utc_now
        world = World(seed=config.seed, clock=clock, rate_per_min=config.rate_per_minute)
        if getattr(config, "spike_after_minutes", None) is not None:
            minutes = float(getattr(config, "spike_duration_minutes", 15.0))
            world.schedule_spike(clock() + timedelta(minutes=config.spike_after_minutes),
                                 duration=timedelta(minutes=minutes))
        return cls(world, host=config.host, port=config.port, tick_interval_s=1.0)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> Sandbox:
        listeners = [self.front] if self.front is not None else list(self.servers.values())
        started: list[FakeServer] = []
        try:
            for server in listeners:
                server.start()
                started.append(server)
        except OSError:
            for server in started:
                server.stop()
            raise
        if self._tick_interval_s and self._ticker is None:
            self._stop_ticker.clear()
            self._ticker = threading.Thread(target=self._tick_forever, name="sandbox-ticker", daemon=True)
            self._ticker.start()
        return self

    def _tick_forever(self) -> None:
        assert self._tick_interval_s
        while not self._stop_ticker.wait(self._tick_interval_s):
            self.world.tick()

    def stop(self) -> None:
        """Stop the ticker and the servers (in parallel: each waits up to one poll interval)."""
        self._stop_ticker.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        listeners = [self.front] if self.front is not None else list(self.servers.values())
        stoppers = [threading.Thread(target=server.stop) for server in listeners]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- where and who --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The one address of the "paths" layout (each platform lives under ``/<platform>``)."""
        if self.front is None:
            raise AttributeError("layout='ports' has no single base_url; use base_urls[platform]")
        return self.front.base_url

    @property
    def base_urls(self) -> dict[str, str]:
        if self.front is not None:
            return {name: f"{self.front.base_url}/{name}" for name in self.servers}
        return {name: server.base_url for name, server in self.servers.items()}

    @property
    def rss_feeds(self) -> dict[str, str]:
        base = self.base_urls["rss"]
        return {f.name: f"{base}/{f.name}.{'xml' if f.format == 'rss' else 'atom'}" for f in self.world.catalog.feeds}

    def accounts(self) -> dict[str, dict[str, str]]:
        """The brand's identity per platform (the ids a listener needs: X user id, YouTube channel...)."""
        return {p: {"id": a.id, "handle": a.handle, "name": a.name}
                for (p, brand), a in self.world.accounts.items() if brand == "skylark"}

    def describe(self) -> dict[str, Any]:
        """Everything a client needs, JSON-ready (printed by ``python -m listener.sandbox``)."""
        single = {"base_url": self.front.base_url} if self.front is not None else {}
        return {**single, "base_urls": self.base_urls, "rss_feeds": self.rss_feeds,
                "credentials": self.credentials.as_dict(), "accounts": self.accounts()}

    # --- faults and records ---------------------------------------------------------------
    def inject(self, platform: str, kind: FaultKind | str, **options: Any) -> Fault:
        """Queue a fault on one platform; options as ``FakeServer.inject`` (route, method, times,
        with_reset, retry_after_s, delay_s, status)."""
        return self.servers[platform].inject(kind, **options)

    def requests(self, platform: str, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests one platform received (paths without the ``/<platform>`` prefix), oldest first."""
        return self.servers[platform].requests(method, path)

    def handler_errors(self) -> dict[str, list[str]]:
        """Crashes inside the fakes, per platform; empty when all is well."""
        servers = dict(self.servers, **({"sandbox": self.front} if self.front else {}))
        return {name: server.errors for name, server in servers.items() if server.errors}
