"""Staff and customers: `earful users ...` (accounts, roles, teams, passwords) and
`earful customers ...` (one profile across platforms)."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from core.cli.common import acting_admin, fail, out
from core.errors import InvalidInput

users_app = typer.Typer(help="Manage staff accounts and roles.", no_args_is_help=True)
customers_app = typer.Typer(help="Customer profiles that span platforms.", no_args_is_help=True)

PASSWORD_HELP = "Prefer the prompt or $EARFUL_NEW_PASSWORD: a flag lands in shell history."
AS_HELP = "Act as this Earful user (an admin; recorded in the audit log). Default: the operator, recorded as 'cli'."


def password_or_prompt(password: Optional[str]) -> str:
    if password is not None:
        return password
    if not sys.stdin.isatty():
        fail("no password given; pass --password, set EARFUL_NEW_PASSWORD, or run in a terminal", 2)
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str,
    role: str = typer.Option("agent", "--role", help="viewer, agent, pr, manager or admin."),
    team: Optional[str] = typer.Option(None, "--team"),
    name: str = typer.Option("", "--name", help="Display name."),
    password: Optional[str] = typer.Option(None, "--password", envvar="EARFUL_NEW_PASSWORD", help=PASSWORD_HELP),
    acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Create a staff account."""
    from core.users import add_user, parse_role

    password = password_or_prompt(password)

    ctx.obj.in_session(lambda session: add_user(session, acting_admin(session, acting_as), username, password,
                                                parse_role(role), display_name=name, team=team))
    out.print(f"added {username} ({role})")


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List staff accounts."""
    from core.users import list_users

    rows = ctx.obj.in_session(lambda session: [
        {"username": u.username, "name": u.display_name, "role": u.role.value, "team": u.team,
         "active": u.active, "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
        for u in list_users(session)
    ])
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("username", "name", "role", "team", "active", "last login")
    for r in rows:
        table.add_row(r["username"], r["name"], r["role"], r["team"] or "", "yes" if r["active"] else "no", r["last_login_at"] or "never")
    out.print(table)


@users_app.command("set-role")
def users_set_role(ctx: typer.Context, username: str, role: str,
                   acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Change a user's role (the last active admin keeps theirs)."""
    from core.users import parse_role, set_role

    ctx.obj.in_session(lambda session: set_role(session, acting_admin(session, acting_as), username, parse_role(role)))
    out.print(f"{username} is now {role}")


@users_app.command("set-team")
def users_set_team(ctx: typer.Context, username: str, team: str = typer.Argument(..., help="Team name; '' for none."),
                   acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Move a user to a team: round-robin assigns new cases to members of the case's team."""
    from core.users import set_team

    ctx.obj.in_session(lambda session: set_team(session, acting_admin(session, acting_as), username, team))
    out.print(f"{username} is now in team {team or '(none)'}")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    username: str,
    password: Optional[str] = typer.Option(None, "--password", envvar="EARFUL_NEW_PASSWORD", help=PASSWORD_HELP),
    acting_as: Optional[str] = typer.Option(None, "--as", help="Act as this Earful user (an admin, or USERNAME "
                                            "themself; recorded in the audit log). Default: the operator, 'cli'."),
) -> None:
    """Set a user's password."""
    from core.users import set_password

    password = password_or_prompt(password)

    ctx.obj.in_session(lambda session: set_password(session, acting_admin(session, acting_as), username, password))
    out.print(f"password of {username} changed")


@users_app.command("deactivate")
def users_deactivate(ctx: typer.Context, username: str,
                     acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """A leaver: they can no longer sign in, and their open dashboard sessions end at their next click."""
    from core.users import deactivate_user

    ctx.obj.in_session(lambda session: deactivate_user(session, acting_admin(session, acting_as), username))
    out.print(f"{username} is deactivated")


@users_app.command("reactivate")
def users_reactivate(ctx: typer.Context, username: str,
                     acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Let a deactivated user sign in again, with the role and team they had."""
    from core.users import reactivate_user

    ctx.obj.in_session(lambda session: reactivate_user(session, acting_admin(session, acting_as), username))
    out.print(f"{username} is active again")


@customers_app.command("link")
def customers_link(
    ctx: typer.Context,
    authors: list[str] = typer.Argument(..., help="Two or more PLATFORM:HANDLE, e.g. x:@jo mastodon:@jo@social.example"),
    acting_as: str = typer.Option(..., "--as", help="Your Earful username (recorded in the audit log)."),
    name: Optional[str] = typer.Option(None, "--name", help="Display name of the customer."),
) -> None:
    """Declare that several platform authors are one customer."""
    from core.customers import link_authors
    from core.users import get_user

    def link(session: Session) -> int:
        actor = get_user(session, acting_as)
        if actor is None:
            raise InvalidInput(f"no user {acting_as!r}; list them with `earful users list`")
        return link_authors(session, actor, authors, name=name).id

    customer_id = ctx.obj.in_session(link)
    out.print(f"linked {len(authors)} authors as customer {customer_id}")


@customers_app.command("history")
def customers_history(
    ctx: typer.Context,
    author: str = typer.Argument(..., help="PLATFORM:HANDLE"),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What this person said on every platform, newest first."""
    from core.customers import customer_mentions, find_author, parse_author_ref

    def history(session: Session) -> list[dict[str, Any]]:
        found = find_author(session, *parse_author_ref(author))
        return [
            {"platform": m.platform, "id": m.native_id, "created_at": m.created_at.isoformat(), "text": m.text, "url": m.url}
            for m in customer_mentions(session, found.id, limit=limit)
        ]

    rows = ctx.obj.in_session(history)
    if as_json:
        print(json.dumps(rows))
        return
    for r in rows:
        out.print(f"{r['created_at'][:16]} {r['platform']:<10} {r['text'][:100]}", highlight=False, markup=False)
