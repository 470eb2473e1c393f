"""The ``twinplan`` command: run, migrate, manage keys, load data.

Each command imports what it uses when it runs, so that ``twinplan --help`` and
``serve`` start without loading every domain. (No import here is deferred to
dodge a cycle: ``lint-imports`` keeps app/ a stack.) Commands act as the
system actor (``SYSTEM``): whoever runs them runs the server.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.core.actors import SYSTEM, Role
from app.core.settings import SettingsError, get_settings

cli = typer.Typer(
    help="Twinplan: exchange planner for twinned cities.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings_or_exit() -> None:
    try:
        get_settings()
    except SettingsError as exc:
        typer.echo(f"twinplan: {exc}", err=True)
        raise typer.Exit(2) from None


@cli.callback()
def _root() -> None:
    _settings_or_exit()


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (to the latest by default)."""
    from app.core.migrations import upgrade

    upgrade(revision=revision)
    typer.echo(f"database at {revision}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: TWINPLAN_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TWINPLAN_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Run the HTTP service with uvicorn."""
    import uvicorn

    from app.core.settings import agree_on_public_base_url

    # The workers read their settings from the environment: what the options say,
    # the public base URL derived from them included, must be there too.
    for name, value in (("TWINPLAN_HOST", host), ("TWINPLAN_PORT", port)):
        if value is not None:
            os.environ[name] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    # Unless someone set it, the public base URL is where this server listens,
    # recorded in .env so that `twinplan worker` builds the same links.
    origin = agree_on_public_base_url(settings.host, settings.port)
    get_settings.cache_clear()
    settings = get_settings()
    typer.echo(f"twinplan: links point to {settings.public_base_url} ({origin})", err=True)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        reload=reload,
        log_level=settings.log_level.lower(),
        # Our own access log carries the request id; uvicorn's would repeat it.
        access_log=False,
    )


def _session(*, write: bool = False) -> Any:
    """A database session with every table's model loaded: a command that imports
    one domain's models alone could not resolve its foreign keys to the others."""
    import app.audit.service  # noqa: F401  (what a command writes is audited, as the system)
    import app.models  # noqa: F401
    from app.core.db import open_session

    return open_session(write=write)


@cli.command("create-api-key")
def create_api_key(
    role: Annotated[Role, typer.Option(help="admin, coordinator or partner.")],
    name: Annotated[str, typer.Option(help="Who holds the key, e.g. 'Kostroma city hall'.")],
    city: Annotated[
        int | None, typer.Option(help="City id; required for coordinator and partner.")
    ] = None,
) -> None:
    """Issue an API key and print it once (only its hash is stored)."""
    from app.core.errors import AppError
    from app.keys.service import create_api_key as issue

    with _session(write=True) as session:
        try:
            key, secret = issue(session, SYSTEM, name=name, role=role, city_id=city)
        except AppError as exc:
            typer.echo(f"twinplan: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    typer.echo(f"created {key.role} key {key.id} ({key.name}); store it now, it is shown once:",
               err=True)
    typer.echo(secret)


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Argument(help="The person's email; they sign in with it.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. 'Anna Smirnova'.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the person an admin.")] = False,
    role: Annotated[
        Role | None, typer.Option(help="Or a role in a city: coordinator or partner.")
    ] = None,
    city: Annotated[int | None, typer.Option(help="The city of --role.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a person who signs in with a password: the first admin, typically.
    Everyone else is better invited (POST /api/v1/invitations)."""
    from app.accounts.service import add_membership
    from app.accounts.service import create_user as make
    from app.core.errors import AppError

    if admin == (role is not None):
        typer.echo("twinplan: give --admin, or --role with --city", err=True)
        raise typer.Exit(2)
    password = (sys.stdin.readline().rstrip("\n") if password_stdin else
                typer.prompt("Password (10 characters or more)", hide_input=True,
                             confirmation_prompt=True))
    if len(password) < 10:
        typer.echo("twinplan: the password needs 10 characters or more", err=True)
        raise typer.Exit(2)
    with _session(write=True) as session:
        try:
            user = make(session, email=email, display_name=name, password=password)
            add_membership(session, user, role or Role.admin, None if admin else city)
        except AppError as exc:
            typer.echo(f"twinplan: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    what = "admin" if admin else f"{role} of city {city}"
    typer.echo(f"created user {user.id} <{user.email}>, {what}; sign in at /console/")


@cli.command("list-api-keys")
def list_api_keys() -> None:
    """List keys (never their secrets)."""
    from app.keys.service import list_api_keys as all_keys

    with _session() as session:
        for key in all_keys(session, SYSTEM):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            scope = f"city {key.city_id}" if key.city_id else "all cities"
            typer.echo(f"{key.id}\t{key.prefix}…\t{key.role}\t{scope}\t{state}\t{key.name}")


@cli.command("revoke-api-key")
def revoke_api_key(key_id: int) -> None:
    """Revoke a key by id."""
    from app.core.errors import AppError
    from app.keys.service import revoke_api_key as revoke

    with _session(write=True) as session:
        try:
            revoke(session, key_id, SYSTEM)
        except AppError as exc:
            typer.echo(f"twinplan: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    typer.echo(f"revoked key {key_id}")


@cli.command("import-twinnings")
def import_twinnings(
    cities_csv: Annotated[Path, typer.Argument(help="cities.csv: id,name,lng,lat,country,"
                                               "countrycd,continent.")],
    links_csv: Annotated[Path, typer.Argument(help="links.csv: source,target (Wikidata ids).")],
) -> None:
    """Import the world's twinning network (Wikidata snapshot); safe to run again."""
    import time

    from sqlalchemy.exc import IntegrityError

    from app.cities.importer import ImportFileError, rich_progress
    from app.cities.importer import import_twinnings as run_import

    started = time.perf_counter()
    with _session(write=True) as session:
        try:
            with rich_progress() as progress:
                report = run_import(session, cities_csv, links_csv, progress)
            session.commit()
        except ImportFileError as exc:
            typer.echo(f"twinplan: {exc}", err=True)
            raise typer.Exit(1) from None
        except IntegrityError:
            typer.echo("twinplan: another import or edit added the same cities or "
                       "twinnings meanwhile; nothing was written, run it again", err=True)
            raise typer.Exit(1) from None
    for line in report.lines():
        typer.echo(line)
    typer.echo(f"done in {time.perf_counter() - started:.1f}s", err=True)


@cli.command("build-candidates")
def build_candidates(
    if_stale: Annotated[bool, typer.Option(
        "--if-stale", help="Only if the network changed since the newest model (cron).")
    ] = False,
) -> None:
    """Build the twin candidate model now (the worker builds it after every change).

    It learns from every city and every active or suspended twinning, and takes
    seconds to tens of seconds on the whole Wikidata network; the timing is printed."""
    from functools import partial

    from app.twins import service as twins

    built = twins.build_in_steps(partial(_session, write=True), if_stale=if_stale)
    if built is None:
        typer.echo("the candidate model is up to date; nothing to build")
        return
    row = built.row
    typer.echo(f"built candidate model {row.id} from {row.cities:,} cities and "
               f"{row.links:,} twinnings ({len(row.payload) / 1024:,.0f} KiB)")
    typer.echo(f"read {built.read_seconds:.1f}s, learnt {built.learn_seconds:.1f}s, stored "
               f"{built.store_seconds:.1f}s", err=True)


DEMO_PASSWORD_VAR = "TWINPLAN_DEMO_PASSWORD"


@cli.command("seed-demo")
def seed_demo(
    people: Annotated[bool, typer.Option(
        "--people", help="Also make the demo sign-in accounts (admin, coordinators of "
        "Kostroma, Volgograd, Ashgabat), all with one password: TWINPLAN_DEMO_PASSWORD, or "
        "a new random one, printed; every run sets it anew.")] = False,
) -> None:
    """Load the demo cities and twinnings (Kostroma, Ashgabat, Coventry...), a few
    exchanges between them, dated from the next World Twin Cities Day, and people
    registered for them; safe to rerun."""
    import app.receivers  # noqa: F401  (the demo's events reach the outbox and reminders)
    from app.cities.demo import seed_demo as seed
    from app.core import clock
    from app.core.errors import AppError
    from app.documents.demo import seed_demo_letterheads
    from app.events.demo import seed_demo_events
    from app.hosting.demo import seed_demo_hosting
    from app.participants.demo import DEMO_ACCOUNTS, seed_demo_accounts, seed_demo_people
    from app.programme.demo import seed_demo_programme
    from app.travel.demo import seed_demo_travel
    from app.twins.demo import seed_demo_search

    password = None
    if people:
        password = os.environ.get(DEMO_PASSWORD_VAR) or secrets.token_urlsafe(12)
        if len(password) < 10:
            typer.echo(f"twinplan: {DEMO_PASSWORD_VAR} needs 10 characters or more", err=True)
            raise typer.Exit(2)
    with _session(write=True) as session:
        try:
            report = seed(session)
            today = clock.now().date()
            events = seed_demo_events(session, report.city_ids, today)
            travellers = seed_demo_people(session, report.city_ids, today)
            exchange = {"programme items": seed_demo_programme(session, report.city_ids, today),
                        "journeys": seed_demo_travel(session, report.city_ids, today),
                        "letterheads": seed_demo_letterheads(session, report.city_ids),
                        "guests placed with host families": seed_demo_hosting(
                            session, report.city_ids, today)}
            searches = seed_demo_search(session, report.city_ids)
            accounts = (seed_demo_accounts(session, report.city_ids, password)
                        if password is not None else None)
        except AppError as exc:
            typer.echo(f"twinplan: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    for line in [*report.lines(), *events.lines(), *travellers.lines(),
                 f"twin searches: {searches} opened (Kostroma's)" if searches else
                 "twin searches: Kostroma's is there",
                 *(f"{what}: {count} added" for what, count in exchange.items()),
                 *(accounts.lines() if accounts else [])]:
        typer.echo(line)
    if password is None:
        return
    # A password of one's own choosing is not echoed into the terminal's history.
    chosen = bool(os.environ.get(DEMO_PASSWORD_VAR))
    width = max(len(a.email) for a in DEMO_ACCOUNTS)
    typer.echo("")
    typer.echo(f"Sign in to the console at {_console_url()}")
    for account in DEMO_ACCOUNTS:
        typer.echo(f"  {account.email:<{width}}  {account.what}")
    typer.echo(f"  password: {f'(the value of {DEMO_PASSWORD_VAR})' if chosen else password}")
    typer.echo("  (the same for all four)" if chosen else
               "  (the same for all four; a new one on every run of seed-demo --people)")


def _console_url() -> str:
    """Where the console will be: the public base URL someone set, else where
    `twinplan serve` will listen (what serve itself decides, app.core.settings)."""
    from app.core.settings import derived_base_url, public_base_url_origin

    settings = get_settings()
    if public_base_url_origin() in ("environment", "env_file"):
        base = settings.public_base_url
    else:
        base = derived_base_url(settings.host, settings.port)
    return base.rstrip("/") + "/console/"


@cli.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit (cron, tests).")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Shown in attempt logs (default host:pid).")
                    ] = None,
    plan: Annotated[
        bool, typer.Option(help="Plan World Twin Cities Day and anniversary reminders hourly.")
    ] = True,
    candidates: Annotated[
        bool, typer.Option(help="Rebuild the twin candidate model within a minute of a "
                           "change to the network (with --once: now, if it changed).")
    ] = True,
) -> None:
    """Deliver due notifications (email, webhooks) until stopped.

    Safe to run several at once on PostgreSQL; on SQLite run one. SIGTERM or
    Ctrl-C finish the notification in hand, then exit.
    """
    import logging
    import signal
    import threading

    from app.core.logging import configure_logging
    from app.worker import Worker, base_url_notice

    configure_logging(get_settings().log_level)
    # Links in reminders point into the service: a worker that cannot know where
    # it is says so, and does not start.
    level, notice = base_url_notice(get_settings())
    if level >= logging.ERROR:
        typer.echo(f"twinplan worker: {notice}", err=True)
        raise typer.Exit(2)
    logging.getLogger("twinplan.worker").log(level, notice)
    runner = Worker(name=name)
    stop = threading.Event()
    try:
        if once:
            if plan:
                runner.schedule()
            if candidates:
                runner.refresh_candidates()
            runner.mirror_calendars()
            handled = runner.run_once()
            typer.echo(f"handled {handled} notification(s)", err=True)
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        runner.run(stop, plan=plan, candidates=candidates)
    finally:
        runner.close()


@cli.command("schedule-reminders")
def schedule_reminders() -> None:
    """Plan World Twin Cities Day and anniversary reminders now (the worker does it hourly)."""
    from app.worker import Worker

    runner = Worker(name="schedule-reminders")
    try:
        added = runner.schedule()
    finally:
        runner.close()
    typer.echo(f"planned {added} new reminder(s)")


def main() -> None:
    try:
        cli()
    except SettingsError as exc:
        print(f"twinplan: {exc}", file=sys.stderr)
        sys.exit(2)


