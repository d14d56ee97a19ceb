"""The command line: each command is a docstring with an example and a few calls to the library."""

from __future__ import annotations

import json
import sys
from functools import cached_property
from pathlib import Path

import click

from bot import __version__
from bot.errors import BotError, InputError


class Context:
    def __init__(self, config_path: str | None, db_path: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path

    @cached_property
    def config(self):
        from bot.config import load_config

        return load_config(self.config_path)

    @cached_property
    def store(self):
        import os

        from bot.app import open_store

        path = self.db_path or self.config.store
        if path is not None and str(path) != ":memory:" and not os.path.lexists(path):
            click.echo(f"{path}: no store there yet: creating a new store", err=True)
        return open_store(path)

    def today(self, timezone: str | None = None):
        from bot.clock import today

        return today(timezone or self.config.timezone)

    def day(
        self, value: str | None, timezone: str | None = None, option: str = "--date", days: int = 1
    ):
        """The day given as ``option`` (default: today), checked to begin a span of ``days``
        days the calendar holds (``plan --days 7`` from 9999-12-30 does not fit)."""
        from bot.dates import day_span, parse_day_option

        today = self.today(timezone)
        day = parse_day_option(value, today, option) if value else today
        day_span(day, days, option)
        return day


pass_context = click.make_pass_decorator(Context)


def _store_failure(obj: Context | None, error: Exception) -> BotError | None:
    """An SQLite error about the store file (disk full, read-only, busy, damaged) as the one
    line that says what to do; None for any other error."""
    import sqlite3

    store = vars(obj).get("store") if obj is not None else None  # only if it was opened
    if isinstance(error, OSError) and store is not None:
        from bot.store_file import file_failure

        return file_failure(store.path, error)  # a lock file beside a read-only store
    if not isinstance(error, sqlite3.Error):
        return None
    from bot.store_file import BUSY_TIMEOUT_SECONDS, failure

    if store is None:
        return failure("the store", error, BUSY_TIMEOUT_SECONDS)
    return failure(store.path, error, store.busy_timeout)


class BotGroup(click.Group):
    """Turns a BotError into one line on stderr and its exit code, never a traceback.

    Commands kept in other modules (drafts, content) are imported only when named, so that a
    short command such as ``preview`` does not pay for building them."""

    LAZY_MODULES = {
        "drafts": "bot.cli_drafts",
        "fetch": "bot.cli_content",
        "plan": "bot.cli_content",
        "calendar": "bot.cli_content",
        "events": "bot.cli_content",  # adds `events promote` and `events candidates`
    }

    def _load(self, name: str) -> None:
        module = self.LAZY_MODULES.get(name)
        if module:
            import importlib

            importlib.import_module(module)

    def get_command(self, ctx: click.Context, cmd_name: str):
        self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in set(self.LAZY_MODULES):
            self._load(name)
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context):
        # all output masked of secrets here too, for callers that swap the streams after main()
        # (click's CliRunner); a no-op when main() already did it
        from bot.secrets_filter import masking_streams

        with masking_streams():
            return self._invoke_reporting_errors(ctx)

    def _invoke_reporting_errors(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BotError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # the reader went away (| head): stop quietly, and keep Python's final flush quiet
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as error:
            import os

            failure = _store_failure(ctx.obj, error)
            if failure is not None:
                click.echo(f"Error: {failure}", err=True)
                ctx.exit(failure.exit_code)
            if os.environ.get("ANNIVERSARY_BOT_DEBUG"):
                raise
            from bot.secrets_filter import mask

            click.echo(
                f"Error: unexpected {type(error).__name__}: {mask(str(error))} (a bug: please "
                "report it; ANNIVERSARY_BOT_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=BotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anniversary-bot")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (else $ANNIVERSARY_BOT_CONFIG, else the user config dir).",
)
@click.option(
    "--db",
    "db_path",
    metavar="PATH",
    help="Event store (SQLite file); default: the user data dir, seeded with the sample data.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """Post a community's daily "this day in history" threads, on time, exactly once.

    Example: anniversary-bot preview --date 01-10
    """
    ctx.obj = Context(config_path, db_path)


# --- the store ------------------------------------------------------------------------------


@cli.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@pass_context
def import_command(obj: Context, paths: tuple[str, ...]) -> None:
    """Import events from YAML, JSON or JSON-lines files or folders (all or nothing).

    Example: anniversary-bot import my-events/ wikipedia-onthisday.jsonl.gz
    """
    from bot.app import import_paths
    from bot.loader import load_files

    store = obj.store
    with _progress("Reading", sum(_size(p) for p in paths)) as read_bar:
        batch = load_files(paths, read_bar)
    with _progress("Writing", batch.event_count, minimum=10_000) as write_bar:
        _, result = import_paths(store, paths, store_progress=write_bar, batch=batch)
    merged = (
        f", {batch.duplicates_merged} identical duplicates merged"
        if batch.duplicates_merged
        else ""
    )
    click.echo(
        f"Imported {batch.event_count:,} events ({result.added:,} new, {result.updated:,} updated"
        f"{merged}), {result.members} members, {result.lists} lists, into {obj.store.path}"
    )


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: standard output).",
)
@pass_context
def export(obj: Context, fmt: str, out: str | None) -> None:
    """Export every event, member and list in a form `import` reads back.

    Example: anniversary-bot export --out events.yaml
    """
    from bot.app import export_events

    if out:
        with open(out, "w", encoding="utf-8") as handle:
            count = export_events(obj.store, handle, fmt)
        click.echo(f"Exported {count:,} events to {out}", err=True)
    else:
        export_events(obj.store, sys.stdout, fmt)


@cli.group()
def events() -> None:
    """List and show the events in the store."""


@events.command(name="list")
@click.option(
    "--date",
    "date_text",
    metavar="MM-DD|YYYY-MM-DD",
    help="Only this anniversary (YYYY also matches the year).",
)
@click.option("--search", metavar="TEXT", help="Only events whose id, title or lead contain TEXT.")
@click.option("--limit", type=int, default=None, help="At most this many.")
@pass_context
def events_list(obj: Context, date_text: str | None, search: str | None, limit: int | None) -> None:
    """List events: id, date, tags, title.

    Example: anniversary-bot events list --date 01-10
    """
    from bot.dates import parse_date

    month = day = year = None
    if date_text:
        try:
            parsed = parse_date(date_text)
        except ValueError as error:
            raise InputError(f"--date: {error}") from None
        month, day, year = parsed.month, parsed.day, parsed.year
    found = obj.store.find_events(month, day, year, search, limit)
    for event in found:
        tags = ",".join(event.tags)
        click.echo(f"{event.id}\t{event.date.iso()}\t{tags}\t{event.title}")
    click.echo(f"{len(found):,} event{'s' if len(found) != 1 else ''}", err=True)


@events.command(name="show")
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="As JSON instead of YAML.")
@pass_context
def events_show(obj: Context, event_id: str, as_json: bool) -> None:
    """Show one event as its curator would write it.

    Example: anniversary-bot events show 1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky
    """
    event = obj.store.get_event(event_id).to_dict()
    if as_json:
        click.echo(json.dumps(event, ensure_ascii=False, indent=2))
    else:
        import yaml

        from bot.app import _yaml_dumper

        click.echo(
            yaml.dump(event, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False, width=100),
            nl=False,
        )


# --- rendering ------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--date", "date_text", metavar="MM-DD|YYYY-MM-DD", help="The day to preview (default: today)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html"]),
    help="Default: the destination's format.",
)
@click.option(
    "--to",
    "destination",
    metavar="DEST",
    help="Render as for this destination (default: the first).",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Every event of the day, not only those the destination posts.",
)
@click.option(
    "--out",
    type=click.Path(),
    help="Write to this file instead of standard output; with --format html, a folder "
    "(existing, or a name without a suffix) gets a page per day and a calendar.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=None,
    help="With --format html --out DIR: how many days (default 30).",
)
@click.option("--year", type=int, default=None, help="With --format html --out DIR: this year.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Machine-readable: per thread its event, date and posts.",
)
@pass_context
def preview(obj: Context, date_text, fmt, destination, show_all, out, days, year, as_json) -> None:
    """Show the day's thread(s) exactly as they would be posted, with each post's length.

    Example: anniversary-bot preview --date 01-10 --format markdown
    """
    if fmt == "html" and out and (Path(out).is_dir() or not Path(out).suffix):
        from bot.cli_drafts import write_site_for

        names = (destination,) if destination else ()
        write_site_for(obj, out, names, date_text, days, year)
        return
    if days is not None or year is not None:
        raise InputError("--days and --year go with --format html --out DIR")
    from bot.app import fresh_threads, nearest_days_with_events
    from bot.posters import poster_class
    from bot.preview import format_preview, format_preview_html

    config = obj.config
    dest = (
        config.destination(destination) if destination else next(iter(config.destinations.values()))
    )
    day = obj.day(date_text, dest.timezone)
    fmt = fmt or dest.format
    threads = fresh_threads(obj.store, config, dest, day, poster_class(dest.type), fmt, show_all)
    if as_json:
        text = json.dumps(
            {"day": day.isoformat(), "destination": dest.name, "format": fmt,
             "threads": [t.to_json() for t in threads]},
            ensure_ascii=False, indent=2,
        ) + "\n"  # fmt: skip
    elif not threads:
        nearest = nearest_days_with_events(obj.store, day)
        hint = (
            f" Nearest days with events: {', '.join(nearest)}."
            if nearest
            else " The store is empty: see 'anniversary-bot import'."
        )
        text = f"No events for {day:%B} {day.day} ({day:%m-%d}).{hint}\n"
    elif fmt == "html":
        text = format_preview_html(threads, dest.name)
    else:
        text = format_preview(threads, dest.name)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(
            f"Wrote {len(threads)} thread{'s' if len(threads) != 1 else ''} to {out}", err=True
        )
    else:
        click.echo(text, nl=False)


# --- publishing -----------------------------------------------------------------------------


def _destinations(obj: Context, names: tuple[str, ...]):
    config = obj.config
    return [config.destination(n) for n in names] if names else list(config.destinations.values())


@cli.command()
@click.option(
    "--date",
    "date_text",
    metavar="MM-DD|YYYY-MM-DD",
    help="The day to post (default: today in each destination's time zone).",
)
@click.option(
    "--to", "names", multiple=True, metavar="DEST", help="Only this destination (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Render and show what would be sent; touch nothing.")
@pass_context
def post(obj: Context, date_text: str | None, names: tuple[str, ...], dry_run: bool) -> None:
    """Post the day's threads to each destination, each post exactly once.

    Running it again for the same day sends nothing new; a post that failed is retried when
    its retry time has come.

    Example: anniversary-bot post --to outbox
    """
    from bot.preview import format_preview
    from bot.publish import PublishLog, day_threads, publish_day

    _setup_logging()
    failures = 0
    for dest in _destinations(obj, names):
        day = obj.day(date_text, dest.timezone)
        if dry_run:
            threads = day_threads(obj.store, obj.config, dest, day)
            log = PublishLog(obj.store)
            for thread in threads:
                done = {r["number"] for r in log.rows(dest.name, day, ("sent",), thread.event_id)}
                if done:
                    click.echo(f"(already sent: posts {sorted(done)} of {thread.event_id})")
            click.echo(
                format_preview(threads, dest.name)
                if threads
                else f"{dest.name}: nothing to post on {day}"
            )
            for held in getattr(threads, "held", []):
                click.echo(held.summary())
            continue
        results = publish_day(obj.store, obj.config, dest, day, on_wait=_tell_waiting)
        if not results:
            click.echo(f"{dest.name}: no events for {day:%B} {day.day}; nothing posted")
        for result in results:
            click.echo(result.summary())
            failures += getattr(result, "failed", False)
    if failures:
        raise BotError(
            f"{failures} thread{'s' if failures > 1 else ''} not fully sent: see 'anniversary-bot history --failed'"
        )


def _tell_waiting(who: str) -> None:
    click.echo(f"waiting for {who}, which is publishing from this store...", err=True)


@cli.command()
@click.option("--date", "date_text", metavar="MM-DD|YYYY-MM-DD", help="Only this day.")
@click.option("--to", "destination", metavar="DEST", help="Only this destination.")
@click.option("--failed", is_flag=True, help="Only failed and unconfirmed posts.")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_context
def history(obj: Context, date_text, destination, failed, as_json) -> None:
    """What went out, when, where to see it, and what failed and why.

    Example: anniversary-bot history --failed
    """
    from bot.publish import PublishLog

    day = obj.day(date_text) if date_text else None
    states = ("failed", "unconfirmed", "sending") if failed else None
    rows = PublishLog(obj.store).rows(destination, day, states)
    if as_json:
        keep = ("key", "destination", "event_id", "day", "number", "state", "attempts", "sent_at",
                "remote_id", "url", "last_error", "next_retry_at")  # fmt: skip
        click.echo(json.dumps([{k: r[k] for k in keep} for r in rows], indent=2))
        return
    for r in rows:
        line = f"{r['day']}  {r['destination']}  {r['event_id']} #{r['number']}  {r['state']}"
        if r["state"] == "sent":
            line += f"  {r['sent_at']}  {r['url'] or r['remote_id']}"
        else:
            line += f"  attempts={r['attempts']}"
            if r["state"] == "failed":
                retry_when = r["next_retry_at"]
                line += f"  next retry {retry_when}" if retry_when else "  waits for 'retry'"
            if r["last_error"]:
                line += f"  {r['last_error']}"
        click.echo(line)
    if not failed:
        from bot.drafts import held_back

        for line in held_back(obj.store, obj.config, obj.today(), day, destination):
            click.echo(line)
    click.echo(f"{len(rows)} post{'s' if len(rows) != 1 else ''}", err=True)


@cli.command()
@click.option("--to", "destination", metavar="DEST", help="Only this destination.")
@click.option(
    "--mark-sent",
    "mark_sent",
    metavar="KEY",
    multiple=True,
    help="You checked: the post is there. Record it as sent (touches only this post).",
)
@click.option(
    "--resend",
    "resend",
    metavar="KEY",
    multiple=True,
    help="You checked: the unconfirmed post is not there. Send it again.",
)
@pass_context
def retry(
    obj: Context, destination: str | None, mark_sent: tuple[str, ...], resend: tuple[str, ...]
) -> None:
    """Retry failed posts now; look unconfirmed ones up where the platform can.

    An unconfirmed post (it may have been posted, and the platform cannot be asked) is never
    sent again without your word: check the destination, then --mark-sent KEY or --resend KEY.

    Example: anniversary-bot retry --to forum
    """
    import datetime as dt

    from bot.posters.base import Published
    from bot.publish import FAILED, SENDING, UNCONFIRMED, PublishLog, publish_day

    _setup_logging()
    log = PublishLog(obj.store)
    open_states = (FAILED, UNCONFIRMED, SENDING)
    for key in mark_sent:
        row = log.row(key)
        if row is None or row["state"] not in open_states:
            raise InputError(
                f"--mark-sent: no failed or unconfirmed post with key {key!r}: see 'anniversary-bot history --failed'"
            )
        log.mark_sent(key, Published(remote_id="(confirmed by hand)"))
        click.echo(f"marked sent: {key}")
    for key in resend:
        row = log.row(key)
        if row is None or row["state"] != UNCONFIRMED:
            raise InputError(
                f"--resend: no unconfirmed post with key {key!r}: see 'anniversary-bot history --failed'"
            )
    if mark_sent and not resend:
        return  # a person's word about these posts only: nothing else is touched
    rows = [log.row(key) for key in resend] if resend else log.rows(destination, None, open_states)
    targets = sorted({(r["destination"], r["day"]) for r in rows if r is not None})
    if not targets:
        click.echo("Nothing to retry.")
    failures = 0
    for name, day_text in targets:
        dest = obj.config.destinations.get(name)
        if dest is None:
            click.echo(f"{name}: {day_text}: not in the config any more: skipped")
            continue
        day = dt.date.fromisoformat(day_text)
        for result in publish_day(
            obj.store, obj.config, dest, day, retry_now=True, reconcile_unconfirmed=True,
            resend=frozenset(resend), on_wait=_tell_waiting,
        ):  # fmt: skip
            click.echo(result.summary())
            failures += getattr(result, "failed", False)
    if failures:
        raise BotError(f"{failures} thread{'s' if failures > 1 else ''} still not fully sent")


@cli.command()
@click.option(
    "--once",
    is_flag=True,
    help="Do what today's jobs would do, now, and exit (for cron or a systemd timer).",
)
@click.option(
    "--to",
    "names",
    multiple=True,
    metavar="DEST",
    help="With --once: only this destination (repeatable).",
)
@pass_context
def run(obj: Context, once: bool, names: tuple[str, ...]) -> None:
    """The main job: post each destination's threads daily at its local time.

    Runs until stopped (SIGINT/SIGTERM finish the post in flight). With --once, posts today's
    threads for every destination now, retries what failed today, and exits.

    Example: anniversary-bot run --once
    """
    from bot.scheduler import DailyJob, run_forever

    _setup_logging(default="INFO")
    config = obj.config
    store_path = obj.store.path  # opens (and on first use seeds) the store
    if not once:
        run_forever(store_path, config)
        return
    job = DailyJob(store_path, config, on_wait=_tell_waiting)
    failures = 0
    for dest in _destinations(obj, names):
        outcome = job.run_destination(dest.name, force=True)
        click.echo(outcome.message)
        failures += outcome.failed
    if failures:
        raise BotError(
            f"{failures} destination(s) not fully posted: see 'anniversary-bot history --failed'"
        )


@cli.command()
@pass_context
def status(obj: Context) -> None:
    """Next run per destination, the last result, and anything failed or unconfirmed.

    Example: anniversary-bot status
    """
    from bot.clock import now
    from bot.publish import PublishLog
    from bot.scheduler import next_runs

    config = obj.config
    log = PublishLog(obj.store)
    for name, when in next_runs(config, now()).items():
        click.echo(f"{name}: next run {when:%Y-%m-%d %H:%M %Z}")
        rows = log.rows(name)
        if rows:
            last = max(rows, key=lambda r: (r["day"], r["updated_at"] or ""))
            done = [r for r in rows if r["day"] == last["day"]]
            sent = sum(r["state"] == "sent" for r in done)
            click.echo(f"  last day {last['day']}: {sent}/{len(done)} posts sent")
        else:
            click.echo("  nothing posted yet")
        for row in log.rows(name, None, ("failed", "unconfirmed", "sending")):
            click.echo(f"  {row['state']}: {row['key']}: {row['last_error'] or ''}".rstrip())
    from bot.drafts import attention

    waiting = attention(obj.store, config, obj.today())
    if waiting:
        click.echo("drafts waiting for a person ('anniversary-bot drafts list'):")
        for line in waiting:
            click.echo(f"  {line}")


@cli.command()
@pass_context
def posters(obj: Context) -> None:
    """List the poster adapters installed: built-in ones and plugins.

    Example: anniversary-bot posters
    """
    from bot.posters import available_posters, poster_class

    for name, origin in sorted(available_posters().items()):
        cls = poster_class(name)
        caps = cls.capabilities
        limit = f"max {caps.max_length:,} chars" if caps.max_length else "no length limit"
        click.echo(f"{name}	{origin}	{limit}	{cls.description}")


@cli.group(name="config")
def config_group() -> None:
    """Show or check the configuration."""


@config_group.command(name="show")
@pass_context
def config_show(obj: Context) -> None:
    """Print the resolved config with every secret masked.

    Example: anniversary-bot --config bot.yaml config show
    """
    import yaml

    click.echo(yaml.safe_dump(obj.config.masked(), sort_keys=False, allow_unicode=True), nl=False)


@config_group.command(name="check")
@pass_context
def config_check(obj: Context) -> None:
    """Validate the config and, where an adapter can, test its credentials.

    Example: anniversary-bot --config bot.yaml config check
    """
    from bot.posters.base import PostError
    from bot.publish import make_poster

    config = obj.config
    click.echo(
        f"{config.path or 'embedded default'}: valid, {len(config.destinations)} destination(s)"
    )
    problems = 0
    for dest in config.destinations.values():
        poster = make_poster(dest)
        try:
            click.echo(f"{dest.name} ({dest.type}): {poster.check()}")
        except PostError as error:
            problems += 1
            click.echo(f"{dest.name} ({dest.type}): FAILED: {error}")
        finally:
            poster.close()
    if problems:
        raise BotError(f"{problems} destination(s) failed the check")


def _setup_logging(default: str = "WARNING") -> None:
    import logging
    import os

    from bot.secrets_filter import configure_logging

    level = os.environ.get("ANNIVERSARY_BOT_LOG", default).upper()
    configure_logging(getattr(logging, level, logging.WARNING))


# --- mentions --------------------------------------------------------------------------------


@cli.group()
def mentions() -> None:
    """Members and mention lists: who is told "FYI" under each part."""


@mentions.group(name="members")
def members_group() -> None:
    """List, add, edit and remove members."""


def _handles_option(values: tuple[str, ...]) -> dict[str, str]:
    from bot.mentions import PLATFORMS

    handles = {}
    for value in values:
        platform, sep, handle = value.partition("=")
        if not sep or platform not in PLATFORMS:
            raise InputError(
                f"--handle {value!r}: expected PLATFORM=HANDLE with PLATFORM one of {', '.join(PLATFORMS)}"
            )
        handles[platform] = handle
    return handles


@members_group.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def members_list(obj: Context, as_json: bool) -> None:
    """Every member: id, name, handles, tags, opted out.

    Example: anniversary-bot mentions members list
    """
    members = obj.store.members()
    if as_json:
        click.echo(json.dumps(members, indent=2, ensure_ascii=False))
        return
    for m in members:
        handles = " ".join(f"{p}={h}" for p, h in m["handles"].items()) or "-"
        flags = f"  opted out {m['opted_out']}" if m["opted_out"] else ""
        click.echo(f"{m['id']}\t{m['name']}\t{handles}\t{','.join(m['tags']) or '-'}{flags}")


@members_group.command(name="add")
@click.argument("member_id")
@click.argument("name")
@click.option(
    "--handle",
    "handles",
    multiple=True,
    metavar="PLATFORM=HANDLE",
    help="e.g. discourse=janedoe (repeatable).",
)
@click.option("--tag", "tags", multiple=True, help="A topic the member follows (repeatable).")
@click.option(
    "--force",
    is_flag=True,
    help="Even when events name another member by this display name (they then name it by id).",
)
@pass_context
def members_add(obj: Context, member_id: str, name: str, handles, tags, force: bool) -> None:
    """Add a member. A display name that events use for another member is refused (--force).

    Example: anniversary-bot mentions members add jane-doe "SGT Jane Doe" --handle discourse=janedoe --tag space
    """
    from bot.mentions import MentionAdmin

    change = MentionAdmin(obj.store).add_member(
        {"id": member_id, "name": name, "handles": _handles_option(handles), "tags": list(tags)},
        force=force,
    )
    click.echo(f"added {change.member.id} ({change.member.name})")
    _echo_rewrites(change)


def _echo_rewrites(change) -> None:
    """What a --force changed in events, one line per reference."""
    for reference, target in change.rewrites.items():
        what = f"now name {target}" if target else "no longer name it"
        click.echo(f"  events that named {reference!r} {what}")
    if change.events:
        click.echo(f"  changed events: {', '.join(change.events)}")


@members_group.command(name="edit")
@click.argument("member")
@click.option("--name", help="A new display name.")
@click.option(
    "--handle",
    "handles",
    multiple=True,
    metavar="PLATFORM=HANDLE",
    help="Set a handle; PLATFORM= removes it.",
)
@click.option("--tags", help="Replace the tags (comma-separated).")
@click.option(
    "--force",
    is_flag=True,
    help="Rename even when events name a member by the old or new name (they then name it by id).",
)
@pass_context
def members_edit(obj: Context, member: str, name, handles, tags, force: bool) -> None:
    """Change a member's name, handles or tags. MEMBER is an id or the exact display name.
    A new name that changes whom an event names is refused (--force).

    Example: anniversary-bot mentions members edit jane-doe --handle mastodon=@jane@example.social
    """
    from bot.mentions import MentionAdmin

    changes: dict = {"handles": _handles_option(handles)}
    if name:
        changes["name"] = name
    if tags is not None:
        changes["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    change = MentionAdmin(obj.store).edit_member(member, changes, force=force)
    click.echo(f"updated {change.member.id} ({change.member.name})")
    _echo_rewrites(change)


@members_group.command(name="remove")
@click.argument("member")
@click.option(
    "--force",
    is_flag=True,
    help="Also take the member off the lists and out of the events that name it.",
)
@pass_context
def members_remove(obj: Context, member: str, force: bool) -> None:
    """Remove a member that no event or list names (--force: take it out of them too).

    Example: anniversary-bot mentions members remove jane-doe
    """
    from bot.mentions import MentionAdmin

    change = MentionAdmin(obj.store).remove_member(member, force=force)
    click.echo(f"removed {change.member.id} ({change.member.name})")
    if change.lists:
        click.echo(f"  taken off lists: {', '.join(change.lists)}")
    if change.events:
        click.echo(f"  dropped from the mentions of events: {', '.join(change.events)}")


@mentions.command(name="optout")
@click.argument("member")
@pass_context
def mentions_optout(obj: Context, member: str) -> None:
    """Record that a member asked not to be mentioned: they are never named again.

    Example: anniversary-bot mentions optout "SSG Jeffrey Leake"
    """
    from bot.mentions import MentionAdmin

    out = MentionAdmin(obj.store).opt_out(member, obj.today().isoformat())
    click.echo(f"{out.id} ({out.name}) opted out")


@mentions.group(name="lists")
def lists_group() -> None:
    """List, show, create, change and delete mention lists."""


@lists_group.command(name="list")
@pass_context
def lists_list(obj: Context) -> None:
    """Every list, with its size, and where it is defined (store or config; config wins).

    Example: anniversary-bot mentions lists list
    """
    from bot.mentions import MentionDirectory

    directory = MentionDirectory.from_store(obj.store, obj.config.lists)
    config_names = {x["name"] for x in obj.config.lists}
    for name in directory.lists:
        size = len(directory.expand([name], []))
        where = "config" if name in config_names else "store"
        click.echo(f"{name}\t{size} member{'s' if size != 1 else ''}\t{where}")


@lists_group.command(name="show")
@click.argument("name")
@pass_context
def lists_show(obj: Context, name: str) -> None:
    """The members a list expands to, in order (opted-out members left out).

    Example: anniversary-bot mentions lists show reference-fyi-1
    """
    from bot.mentions import MentionDirectory

    directory = MentionDirectory.from_store(obj.store, obj.config.lists)
    for member in directory.expand([name], []):
        click.echo(f"{member.id}\t{member.name}")


@lists_group.command(name="create")
@click.argument("name")
@click.option("--description")
@click.option(
    "--include-tag", "include_tags", multiple=True, help="Also every member following this tag."
)
@pass_context
def lists_create(obj: Context, name: str, description, include_tags) -> None:
    """Create an empty list.

    Example: anniversary-bot mentions lists create space-fans --include-tag space
    """
    from bot.mentions import MentionAdmin

    MentionAdmin(obj.store).create_list(name, description, list(include_tags))
    click.echo(f"created list {name}")


@lists_group.command(name="add")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@pass_context
def lists_add(obj: Context, name: str, members) -> None:
    """Add members (ids or exact display names) to a list, at its end.

    Example: anniversary-bot mentions lists add space-fans jane-doe
    """
    from bot.mentions import MentionAdmin

    added = MentionAdmin(obj.store).add_to_list(name, list(members))
    click.echo(f"{name}: added {', '.join(m.id for m in added)}")


@lists_group.command(name="remove")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@pass_context
def lists_remove(obj: Context, name: str, members) -> None:
    """Take members off a list.

    Example: anniversary-bot mentions lists remove space-fans jane-doe
    """
    from bot.mentions import MentionAdmin

    removed = MentionAdmin(obj.store).remove_from_list(name, list(members))
    click.echo(f"{name}: removed {', '.join(m.id for m in removed)}")


@lists_group.command(name="delete")
@click.argument("name")
@pass_context
def lists_delete(obj: Context, name: str) -> None:
    """Delete a list no event uses.

    Example: anniversary-bot mentions lists delete space-fans
    """
    from bot.mentions import MentionAdmin

    MentionAdmin(obj.store).delete_list(name)
    click.echo(f"deleted list {name}")


@mentions.command(name="import")
@click.argument("path", type=click.Path())
@click.option(
    "--replace",
    is_flag=True,
    help="Give each member in the file exactly the record the file has (absent columns empty).",
)
@pass_context
def mentions_import(obj: Context, path: str, replace: bool) -> None:
    """Import members from CSV (id,name and any of tags,lists,opted_out,discourse,mastodon,
    discord,slack,matrix) or YAML (members:/lists:), all or nothing. It merges: a column the
    file lacks keeps the stored value, an empty cell clears it.

    Example: anniversary-bot mentions import members.csv
    """
    from bot.mentions import MentionAdmin

    count, lists = MentionAdmin(obj.store).import_file(path, replace=replace)
    click.echo(
        f"imported {count} member{'s' if count != 1 else ''}, {lists} list{'s' if lists != 1 else ''}"
    )


@mentions.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "csv"]),
    default="yaml",
    help="csv: members and their list memberships only.",
)
@pass_context
def mentions_export(obj: Context, fmt: str) -> None:
    """Members and lists as YAML (or members as CSV) that `mentions import` reads back.

    Example: anniversary-bot mentions export > members.yaml
    """
    if fmt == "csv":
        from bot.mentions import MentionAdmin

        MentionAdmin(obj.store).export_csv(sys.stdout)
        return
    import yaml

    from bot.app import _compact_list, _compact_member, _yaml_dumper

    document = {
        "members": [_compact_member(m) for m in obj.store.members()],
        "lists": [_compact_list(x) for x in obj.store.mention_lists()],
    }
    click.echo(
        yaml.dump(document, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False), nl=False
    )


# --- plumbing -------------------------------------------------------------------------------


def _size(path: str) -> int:
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return 0


class _progress:
    """A progress bar on a terminal; nothing at all when output is redirected."""

    def __init__(self, label: str, length: int, minimum: int = 1_000_000) -> None:
        self.bar = None
        if sys.stderr.isatty() and length > minimum:
            self.bar = click.progressbar(length=length, label=label, file=sys.stderr)

    def __enter__(self):
        if self.bar is None:
            return None
        bar = self.bar.__enter__()
        return bar.update

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def main(argv: list[str] | None = None) -> None:
    # the one place where text leaves the process: whatever writes to stdout or stderr (click,
    # logging, a library, a traceback) writes through the redactor
    from bot.secrets_filter import install_masking_streams

    install_masking_streams()
    try:
        cli.main(args=argv, prog_name="anniversary-bot")
    except BrokenPipeError:
        sys.exit(0)
