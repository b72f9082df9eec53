"""The sandbox: local fakes of the eight platforms Earful listens to, fed by one simulated world.

``earful demo`` runs it to produce a live stream of mentions, and the integration tests drive the
real client libraries against it. Start here: ``Sandbox`` (servers + world), ``World`` (posts, time,
spikes), ``FaultKind`` (injected failures), ``redirect_session`` (for tweepy's fixed host).
"""

from listener.sandbox.app import Sandbox
from listener.sandbox.credentials import SandboxCredentials
from listener.sandbox.faults import Fault, FaultKind
from listener.sandbox.redirect import RedirectAdapter, redirect_session
from listener.sandbox.server import FakeServer, RecordedRequest, Request, Response
from listener.sandbox.world import PLATFORMS, Author, Post, Spike, World

__all__ = [
    "PLATFORMS", "Author", "FakeServer", "Fault", "FaultKind", "Post", "RecordedRequest", "RedirectAdapter",
    "Request", "Response", "Sandbox", "SandboxCredentials", "Spike", "World", "redirect_session",
]
