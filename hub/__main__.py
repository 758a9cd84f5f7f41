"""`puente` / `python -m hub`: run the hub (migrating the database first, and making the first
administrator from PUENTE_ADMIN_* when there is none), or `puente create-admin` / `puente reset-mfa`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from hub.logs import log_config

    if args.demo:
        os.environ["PUENTE_SERVER_DEMO"] = "1"
    from hub.settings import load_settings

    settings = load_settings()
    host, port = args.host or settings.server.host, args.port or settings.server.port
    os.environ["PUENTE_PUBLIC_HOST"], os.environ["PUENTE_PUBLIC_PORT"] = host, str(port)
    uvicorn.run(
        "hub.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=os.environ.get("PUENTE_LOG_LEVEL", "info"),
        log_config=log_config(),  # no query string, no client address: patients' words stay out of logs
        ws_max_size=65536,
        ws_per_message_deflate=False,
    )


def _in_database(work: Callable[[Any], Any]) -> Any:
    """Run `work(tx)` in one transaction on the configured database, migrated first."""
    from hub.db.engine import make_engine
    from hub.db.migrate import upgrade
    from hub.db.writer import Tx
    from hub.settings import load_settings

    settings = load_settings()
    upgrade(settings.database.url)

    async def run() -> Any:
        engine = make_engine(settings.database)
        try:
            async with engine.connect() as conn:
                from sqlalchemy.ext.asyncio import AsyncSession

                async with AsyncSession(conn) as session:
                    out = await session.run_sync(lambda sync: work(Tx(sync)))
                    await session.commit()
                    return out
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as f:
            return f.readline().rstrip("\n")
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password for the new administrator: ")
    if getpass.getpass("The same again: ") != first:
        raise SystemExit("puente: the two passwords differ; nothing was changed")
    return first


def _create_admin(args: argparse.Namespace) -> None:
    from hub.agents.first_admin import AdminProblem, checked, create_admin
    from hub.settings import load_settings

    password = _read_password(args)
    try:
        password_hash = checked(load_settings(), args.login, password)
        agent_id, created = _in_database(lambda tx: create_admin(tx, args.login, args.name, password_hash, "command"))
    except AdminProblem as exc:
        raise SystemExit(f"puente: no administrator made: {exc}") from None
    if created:
        print(f"The administrator {args.login} (id {agent_id}) was made: sign in with that login and password.")
    else:
        print(f"{args.login} is an administrator already; nothing was changed.")


def _reset_mfa(args: argparse.Namespace) -> None:
    """For an administrator locked out with no other administrator to help (a lost phone and codes)."""
    from sqlalchemy import select

    from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
    from hub.db.models import Agent

    def reset(tx: Any) -> bool:
        agent = tx.session.execute(select(Agent).where(Agent.login == args.login)).scalar_one_or_none()
        if agent is None:
            raise SystemExit(f"puente: there is no staff member {args.login!r}")
        if agent.totp_secret is None:
            return False
        agent.totp_secret = agent.totp_last_step = agent.mfa_enrolled_at = None
        agent.recovery_codes = []
        agent.session_epoch += 1
        origin = Origin(None, "puente reset-mfa")
        add_audit(tx, AuditRecord(AuditAction.MFA_RESET, None, origin, detail={"agent_id": agent.id, "via": "command"}))
        return True

    if _in_database(reset):
        print(f"{args.login}'s MFA was reset: they set it up again at their next sign-in (if their role needs it).")
    else:
        print(f"{args.login} has no MFA; nothing was changed.")


def main() -> None:
    parser = argparse.ArgumentParser(prog="puente", description="Run the Puente hub.")
    parser.add_argument("--demo", action="store_true", help="seed a demo clinic on first start and print logins")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the hub (the default)", add_help=True)
    admin = commands.add_parser(
        "create-admin", help="make an administrator (idempotent); the password is asked for, or read from stdin"
    )
    admin.add_argument("--login", required=True)
    admin.add_argument("--name", default="Administrator", help="their name as staff see it")
    admin.add_argument("--password-file", default=None, help="a file whose first line is the password")
    mfa = commands.add_parser("reset-mfa", help="take away a staff member's MFA (a locked-out administrator)")
    mfa.add_argument("--login", required=True)
    args = parser.parse_args()
    if args.command == "create-admin":
        _create_admin(args)
    elif args.command == "reset-mfa":
        _reset_mfa(args)
    else:
        _serve(args)


if __name__ == "__main__":
    main()
