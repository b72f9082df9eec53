"""Staff accounts, roles and password checks.

Roles are ordered by what they may do: viewer < agent < pr < manager < admin. `require` is called by
every function that acts (not only by the dashboard hiding a button), so the rule holds for the CLI,
the dashboard and any future API alike.
"""

from __future__ import annotations

from datetime import datetime

import bcrypt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput, PermissionDenied
from core.models import Role, User, utcnow

RANK = {Role.viewer: 0, Role.agent: 1, Role.pr: 2, Role.manager: 3, Role.admin: 4}
MIN_PASSWORD_LENGTH = 8
# bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated.
MAX_PASSWORD_BYTES = 72


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}; use one of {', '.join(r.value for r in Role)}") from None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is too short; use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"the password is too long; use at most {MAX_PASSWORD_BYTES} bytes")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], hashed.encode())
    except ValueError:
        return False


def has_role(user: User, needed: Role) -> bool:
    return user.active and RANK[user.role] >= RANK[needed]


def require(user: User, needed: Role, action: str) -> None:
    if not has_role(user, needed):
        raise PermissionDenied(user.username, action, needed.value)


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(sa.select(User).where(User.username == username))


def operator(name: str = "cli") -> User:
    """The identity of whoever runs Earful's own commands (`earful users`, `earful demo`): they hold
    the configuration and the database already, so they act as admin. It is no account (it cannot
    sign in) and the audit log records it by `name`."""
    return User(username=name, display_name=name, role=Role.admin, active=True)


def _target(session: Session, username: str) -> User:
    user = get_user(session, username.strip())
    if user is None:
        raise InvalidInput(f"no user {username!r}; list them with `earful users list`")
    return user


def _keep_an_admin(session: Session, user: User, action: str) -> None:
    """Refuse to leave no active admin: nobody could then manage users from the dashboard."""
    if not (user.active and user.role is Role.admin):
        return
    others = session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.role == Role.admin, User.active.is_(True), User.id != user.id))
    if not others:
        raise InvalidInput(f"{user.username} is the last active admin; make another user admin before you {action}")


def add_user(
    session: Session,
    actor: User,
    username: str,
    password: str,
    role: Role,
    *,
    display_name: str = "",
    team: str | None = None,
) -> User:
    require(actor, Role.admin, "add users")
    username = username.strip()
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise InvalidInput(f"invalid username {username!r}; use letters, digits, '-', '_' or '.'")
    if get_user(session, username):
        raise InvalidInput(f"user {username!r} exists already; use `earful users set-role` to change it")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        team=team,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor.username, "user.add", target_type="user", target_id=user.id,
                 details={"role": role.value})
    return user


def set_role(session: Session, actor: User, username: str, role: Role) -> User:
    require(actor, Role.admin, "change roles")
    user = _target(session, username)
    if role is not Role.admin:
        _keep_an_admin(session, user, f"make {user.username} {role.value}")
    old = user.role
    user.role = role
    audit.record(
        session, actor.username, "user.set_role", target_type="user", target_id=user.id,
        details={"from": old.value, "to": role.value},
    )
    return user


def set_team(session: Session, actor: User, username: str, team: str | None) -> User:
    """Move a user to a team (round-robin assigns cases within a team); None or "" leaves all teams."""
    require(actor, Role.admin, "change teams")
    user = _target(session, username)
    old = user.team
    user.team = (team or "").strip() or None
    audit.record(session, actor.username, "user.set_team", target_type="user", target_id=user.id,
                 details={"from": old, "to": user.team})
    return user


def set_password(session: Session, actor: User, username: str, password: str) -> User:
    """An admin sets anyone's password; any active user may set their own."""
    user = _target(session, username)
    if not (actor.active and actor.id is not None and actor.id == user.id):
        require(actor, Role.admin, "set another user's password")
    user.password_hash = hash_password(password)
    audit.record(session, actor.username, "user.set_password", target_type="user", target_id=user.id)
    return user


def deactivate_user(session: Session, actor: User, username: str) -> User:
    """A leaver: they cannot sign in, and their open dashboard sessions end on their next click (the
    dashboard re-reads the signed-in user on every run). Their cases, replies and audit trail stay."""
    require(actor, Role.admin, "deactivate users")
    user = _target(session, username)
    _keep_an_admin(session, user, f"deactivate {user.username}")
    if user.active:
        user.active = False
        audit.record(session, actor.username, "user.deactivate", target_type="user", target_id=user.id)
    return user


def reactivate_user(session: Session, actor: User, username: str) -> User:
    require(actor, Role.admin, "reactivate users")
    user = _target(session, username)
    if not user.active:
        user.active = True
        audit.record(session, actor.username, "user.reactivate", target_type="user", target_id=user.id)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> User | None:
    """Return the user when the password is right; every attempt is audited."""
    user = get_user(session, username.strip())
    ok = user is not None and user.active and check_password(password, user.password_hash)
    audit.record(session, username.strip()[:100] or "?", "login" if ok else "login.failed", target_type="user")
    if not ok:
        return None
    assert user is not None
    user.last_login_at = now or utcnow()
    return user
