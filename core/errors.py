"""The one exception tree of Earful.

    EarfulError
    ├── ConfigError          our side: configuration is wrong (CLI exits 2)
    ├── InvalidInput         our side: data handed to Earful is wrong (a bad import row, a bad query)
    ├── PermissionDenied     our side: the acting user's role does not allow the action
    ├── Conflict             our side: the action collides with another (a case held by someone else,
    │                        a reply no longer in the state the action needs)
    ├── StorageError         the machine's side: the database file cannot be opened or written (read-only,
    │                        disk full); the message names the file and what to do
    └── PlatformError        their side: a platform answered badly (platform, status, retry_after)
        ├── RateLimited      429 or a quota: pause this source until retry_after
        ├── AuthFailed       401/403: credentials or scopes are wrong; a human must act
        ├── Unavailable      5xx, connection errors: retry with backoff (the request did not land)
        ├── OutcomeUnknown   the request was sent but no answer came (read timeout, dropped
        │                    connection): it may have landed, so it is looked up, never resent blindly
        └── Rejected         the platform refused this one request for good (parent deleted, text
                             refused, not allowed to reply): retrying cannot help

Each adapter translates its client library's exceptions into this tree once, at the edge, so the
scheduler and the dashboard handle one vocabulary.
"""

from __future__ import annotations


class EarfulError(Exception):
    """Root of every error Earful raises on purpose."""


class ConfigError(EarfulError):
    """Configuration is invalid. The message names the file and key and says how to fix it."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None) -> None:
        self.key = key
        self.path = path
        where = ": ".join(p for p in (path, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class InvalidInput(EarfulError):
    """Input handed to Earful (an import row, a query expression, a form field) is invalid."""


class PermissionDenied(EarfulError):
    """The acting user's role does not allow this action."""

    def __init__(self, actor: str, action: str, needed: str) -> None:
        self.actor = actor
        self.action = action
        super().__init__(f"{actor} may not {action}: it needs the role {needed}")


class Conflict(EarfulError):
    """The action collides with another one (someone else holds the case, the reply moved on)."""


class StorageError(EarfulError):
    """The database file cannot be opened or written: it is read-only, its disk is full, or its folder
    is out of reach. Nothing of the failed transaction was written; the message says what to fix."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class PlatformError(EarfulError):
    """A platform answered with an error, or could not be reached."""

    def __init__(
        self,
        platform: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.platform = platform
        self.status = status
        self.retry_after = retry_after
        prefix = f"{platform}" + (f" HTTP {status}" if status else "")
        super().__init__(f"{prefix}: {message}")


class RateLimited(PlatformError):
    """The platform asked us to slow down; retry_after (seconds) is None when it did not say."""


class AuthFailed(PlatformError):
    """Credentials were refused or lack a scope; retrying will not help until a human fixes them."""


class Unavailable(PlatformError):
    """The platform failed transiently (5xx, timeout, connection error); retry with backoff."""


class OutcomeUnknown(PlatformError):
    """The request went out but no answer came back: the platform may have accepted it.

    A reply that ends here is reconciled (looked up on the platform), never resent blindly.
    """


class Rejected(PlatformError):
    """The platform refused this request for good: the parent is gone, the text was refused, the
    account may not reply there. The platform's own reason is in the message, for the agent."""
