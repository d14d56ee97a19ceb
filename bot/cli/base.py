"""What every command shares: the ``cli`` group, its error reporting, the context a command
reads its config and store from, and the options several commands take.

Command modules import from here, never from the package (``bot/cli/__init__.py`` loads them
by name), so that no command module and the package import each other. Only click and the
standard library at module level: ``--help`` imports this and every command module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot import __version__
from bot.errors import BotError, InputError

if TYPE_CHECKING:
    import datetime as dt

    from bot.config import Config, Destination
    from bot.model.dates import AnniversaryDate
    from bot.store import Store

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What a command works on: the config and the store, each read when first used."""

    def __init__(self, config_path: str | None = None, db_path: str | None = None) -> None:
        self.config_path = config_path
        self.db_path = db_path
        # --json, --to, --date given before the subcommand: the command's own option falls
        # back to them (``SharedOption``)
        self.given: dict[str, Any] = {}

    @cached_property
    def config(self) -> Config:
        from bot.config.loading import load_config

        return load_config(self.config_path)

    @cached_property
    def store(self) -> Store:
        import os

        from bot.paths import default_store_path

        path = self.db_path or self.config.store
        target = path or default_store_path()
        if str(target) != ":memory:" and os.path.lexists(target):
            # an existing store is opened as it is: the library's front door (bot.app, with the
            # templates and the importer that seed a new store) is not imported to read it
            from bot.store import Store

            return Store(target)
        from bot.app import open_store

        if path is not None and str(path) != ":memory:":
            click.echo(f"{path}: no store there yet: creating a new store", err=True)
        return open_store(path)

    def today(self, timezone: str | None = None) -> dt.date:
        from bot.clock import today

        return today(timezone or self.config.timezone)

    def day(
        self, value: str | None, timezone: str | None = None, option: str = "--date", days: int = 1
    ) -> dt.date:
        """The day given as ``option`` (default: today), checked to begin a span of ``days``
        days the calendar holds (``plan --days 7`` from 9999-12-30 does not fit)."""
        from bot.model.dates import day_span, parse_day_option

        today = self.today(timezone)
        day = parse_day_option(value, today, option) if value else today
        day_span(day, days, option)
        return day

    def destination(self, name: str | None) -> Destination:
        """The destination named, else the config's first."""
        config = self.config
        return config.destination(name) if name else next(iter(config.destinations.values()))

    def destinations(self, names: tuple[str, ...]) -> list[Destination]:
        """The destinations named, else every destination of the config."""
        config = self.config
        return (
            [config.destination(n) for n in names] if names else list(config.destinations.values())
        )


pass_context = click.make_pass_decorator(Context)


# --- options several commands share ---------------------------------------------------------
#
# Each is defined once, here, and accepted before or after the subcommand:
# ``anniversary-bot --db x.db history --json`` and ``anniversary-bot history --db x.db --json``.
# ``--config`` and ``--db`` are added to every command by ``BotCommand``; ``--json``, ``--to``
# and ``--date`` only to the commands that take them, which read a value given before the
# subcommand when they were given none of their own.


def _set_on_context(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        setattr(ctx.ensure_object(Context), str(param.name), value)


def config_option() -> click.Option:
    return click.Option(
        ["--config", "config_path"],
        metavar="PATH",
        expose_value=False,
        callback=_set_on_context,
        help="Config file (else $ANNIVERSARY_BOT_CONFIG, else the user config dir).",
    )


def db_option() -> click.Option:
    return click.Option(
        ["--db", "db_path"],
        metavar="PATH",
        expose_value=False,
        callback=_set_on_context,
        help="Event store (SQLite file); default: the config's store, else the user data dir.",
    )


class SharedOption(click.Option):
    """An option a command takes that may also be given before the subcommand; the command's
    own value wins, else the one given before."""

    def consume_value(self, ctx: click.Context, opts: Any) -> tuple[Any, Any]:
        value, source = super().consume_value(ctx, opts)
        given = ctx.ensure_object(Context).given.get(self.opts[0])
        if source != click.core.ParameterSource.DEFAULT or given is None:
            return value, source  # the command's own value (or nothing given before it)
        if isinstance(given, tuple) and not self.multiple:  # --to before it is repeatable
            if len(given) > 1:
                raise click.BadOptionUsage(self.opts[0], f"{self.opts[0]}: one value here", ctx)
            given = given[0]
        return given, click.core.ParameterSource.COMMANDLINE


# the shared options' spelling and kind, for the top group and for each command that takes one
SHARED_OPTIONS: dict[str, dict[str, Any]] = {
    "--json": {"is_flag": True, "help": "As JSON (listings and show)."},
    "--to": {"metavar": "DEST", "help": "Only this destination."},
    "--date": {"metavar": "MM-DD|YYYY-MM-DD", "help": "The day."},
}


def _shared(opts: str, name: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(opts, name, cls=SharedOption, **{**SHARED_OPTIONS[opts], **kwargs})


def date_option(help: str, metavar: str = "MM-DD|YYYY-MM-DD") -> Callable[[F], F]:
    """``--date``, read into the parameter ``date_text``."""
    return _shared("--date", "date_text", metavar=metavar, help=help)


def json_option(help: str | None = "As JSON.") -> Callable[[F], F]:
    """``--json``, read into the parameter ``as_json``."""
    return _shared("--json", "as_json", help=help)


def limit_option(default: int = 50) -> Callable[[F], F]:
    """``--limit N`` of a listing (0: all), read into the parameter ``limit``."""
    return click.option(
        "--limit", type=click.IntRange(min=0), default=default, show_default=True,
        help="At most this many (0: all).",
    )  # fmt: skip


def to_option(help: str = "Only this destination.") -> Callable[[F], F]:
    """``--to DEST``, one destination, read into the parameter ``destination``."""
    return _shared("--to", "destination", help=help)


def to_many_option(help: str = "Only this destination.") -> Callable[[F], F]:
    """``--to DEST``, repeatable, read into the parameter ``names``."""
    return _shared("--to", "names", multiple=True, help=help)


def _remember_given(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value not in (None, False, ()):
        ctx.ensure_object(Context).given[f"--{param.name}"] = value


def group_options() -> list[click.Option]:
    """The shared options as the top group takes them, before the subcommand."""
    remember: dict[str, Any] = {"expose_value": False, "callback": _remember_given}
    shared = [
        click.Option([opts], multiple=opts == "--to", **kind, **remember)  # --to: repeatable
        for opts, kind in SHARED_OPTIONS.items()
    ]
    return [config_option(), db_option(), *shared]


class BotCommand(click.Command):
    """A command: takes ``--config`` and ``--db`` after its name too, and refuses a shared
    option given before it that it has no use for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [config_option(), db_option()]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        own = {opt for param in self.params for opt in getattr(param, "opts", ())}
        for opt in ctx.ensure_object(Context).given:
            if opt not in own:
                raise click.UsageError(f"{opt} does not apply to '{ctx.command_path}'", ctx)
        return rest


class BotSubGroup(click.Group):
    """A group below the top one (``events``, ``drafts``, ...): its commands are BotCommands."""

    command_class = BotCommand
    group_class = type  # its groups are BotSubGroups too


# --- parsing --------------------------------------------------------------------------------


def anniversary_option(value: str, option: str = "--date") -> AnniversaryDate:
    """An option's ``MM-DD`` or ``YYYY-MM-DD``; a bad one is an InputError naming the option."""
    from bot.model.dates import parse_date

    try:
        return parse_date(value)
    except ValueError as error:
        raise InputError(f"{option}: {error}") from None


def comma_names(*values: str) -> list[str]:
    """Tag, list or kind names an option gives, separated by commas (``--tags space,navy``;
    the rule is ``bot.input_rules.split_names``, imported only when a command runs)."""
    from bot.input_rules import split_names

    return split_names(",".join(values))


def write_site_for(
    obj: Context,
    out: str,
    names: tuple[str, ...],
    date_text: str | None,
    days: int | None,
    year: int | None,
) -> None:
    """The HTML preview site: a page per day and a calendar (``drafts preview`` and
    ``preview --format html --out DIR``)."""
    from pathlib import Path

    from bot.model.dates import year_days
    from bot.preview.html import write_site

    destinations = obj.destinations(names)
    if year is not None:
        start, count = year_days(year)
    else:
        count = days or 30
        start = obj.day(date_text, destinations[0].timezone, days=count)
    index = write_site(obj.store, obj.config, destinations, start, count, Path(out))
    click.echo(f"Wrote {count} day page{'s' if count != 1 else ''} and {index}", err=True)


class DraftId(click.ParamType):
    """A draft's id as ``drafts list`` shows it, ``3``, or as ``#3``."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip().removeprefix("#")
        if not text.isdigit():
            self.fail(
                f"{value!r}: a draft id is a number, such as 3 (see 'drafts list')", param, ctx
            )
        return int(text)


class LibraryChoice(click.Choice):
    """A choice among values the library names (such as the draft states), read when first
    needed: building the option for ``--help`` must not import the library."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._load())

    @choices.setter
    def choices(self, value: tuple[str, ...]) -> None:
        pass  # the values are the library's, read each time


# --- output ---------------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    """``1 post``, ``2 posts`` (``bot.wording``, imported only when a command counts)."""
    from bot.wording import plural as in_words

    return in_words(count, noun)


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Rows under a header line, each column as wide as its widest value, two spaces apart;
    the last column as it is (a title, a note)."""
    lines = [list(headers), *([str(cell) for cell in row] for row in rows)]
    if len(lines) == 1:
        return  # nothing to show: no header either (the command says how many, on stderr)
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers) - 1)]
    for line in lines:
        padded = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        click.echo("  ".join([*padded, line[-1]]).rstrip())


def echo_json(document: object) -> None:
    """``document`` as the JSON a ``--json`` option prints."""
    import json

    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def setup_logging(default: str = "WARNING", progress: bool = False) -> None:
    import logging
    import os

    from bot.secrets_filter import configure_logging

    level = os.environ.get("ANNIVERSARY_BOT_LOG", default).upper()
    configure_logging(getattr(logging, level, logging.WARNING), progress)


def tell_waiting(who: str) -> None:
    click.echo(f"waiting for {who}, which is publishing from this store...", err=True)


class Progress:
    """A progress bar on a terminal; nothing at all when output is redirected. Entered, it
    gives the bar's ``update`` (or None), the shape the library's ``progress`` arguments take."""

    def __init__(self, label: str, length: int, minimum: int = 1_000_000) -> None:
        self.bar: Any = None
        if sys.stderr.isatty() and length > minimum:
            self.bar = click.progressbar(length=length, label=label, file=sys.stderr)

    def __enter__(self) -> Callable[[int], None] | None:
        if self.bar is None:
            return None
        bar = self.bar.__enter__()
        return bar.update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


# --- the group ------------------------------------------------------------------------------


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

    Each command lives in a topic module that is imported only when the command is named
    (``LAZY_MODULES``: command name -> module, filled by the package), so that a short
    command such as ``preview`` does not pay for building the others."""

    LAZY_MODULES: dict[str, str] = {}
    command_class = BotCommand
    group_class = BotSubGroup

    def _load(self, name: str) -> None:
        module = self.LAZY_MODULES.get(name)
        if module and name not in self.commands:
            importlib.import_module(module)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in sorted(self.LAZY_MODULES):
            self._load(name)
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        # all output masked of secrets here too, for callers that swap the streams after main()
        # (click's CliRunner); a no-op when main() already did it
        from bot.secrets_filter import masking_streams

        with masking_streams():
            return self._invoke_reporting_errors(ctx)

    def _invoke_reporting_errors(self, ctx: click.Context) -> Any:
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


@click.group(
    cls=BotGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    params=group_options(),
)
@click.version_option(__version__, prog_name="anniversary-bot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Post a community's daily "this day in history" threads, on time, exactly once.

    The options below work after the command's name too (each command that takes them).

    Example: anniversary-bot preview --date 01-10
    """
    ctx.ensure_object(Context)
