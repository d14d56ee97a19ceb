"""The command line: a thin command each, grouped by topic.

``base`` holds the ``cli`` group, ``Context`` and the shared options; each topic module adds its
commands to the group, and is imported only when one of its commands is named (or ``--help``
lists them all). A command parses its options, calls one library function, and prints.
"""

from __future__ import annotations

import gc
import sys

from bot.cli.base import BotGroup, Context, cli, pass_context

# command name -> the module that defines it (imported by BotGroup when the command is named)
BotGroup.LAZY_MODULES.update(
    {
        "import": "bot.cli.events",
        "export": "bot.cli.events",
        "events": "bot.cli.events",
        "preview": "bot.cli.preview",
        "post": "bot.cli.publishing",
        "history": "bot.cli.publishing",
        "retry": "bot.cli.publishing",
        "run": "bot.cli.publishing",
        "status": "bot.cli.publishing",
        "mentions": "bot.cli.mentions",
        "drafts": "bot.cli.drafts",
        "fetch": "bot.cli.content",
        "plan": "bot.cli.content",
        "calendar": "bot.cli.content",
        "config": "bot.cli.setup",
        "posters": "bot.cli.setup",
        "serve": "bot.cli.web",
        "alerts": "bot.cli.alerts",
        "init": "bot.cli.setup",
    }
)


def main(argv: list[str] | None = None) -> None:
    # the one place where text leaves the process: whatever writes to stdout or stderr (click,
    # logging, a library, a traceback) writes through the redactor
    from bot.secrets_filter import install_masking_streams

    install_masking_streams()
    try:
        cli.main(args=argv, prog_name="anniversary-bot")
    except BrokenPipeError:
        sys.exit(0)
    finally:
        _leave_without_collecting()


def _leave_without_collecting() -> None:
    """The command has ended: close its stores, then leave the rest to the end of the process.

    The interpreter's clean-up would trace every object of every module imported, to find the
    few in reference cycles and finalise them: some 15 ms of a 150 ms ``preview``. Frozen, they
    are freed all at once when the process ends. What needs finalising is done first: the
    stores (each a reference cycle) are closed here, standard output and error are flushed by
    the interpreter as always, and ``atexit`` handlers (logging's) still run. A store that
    cannot be closed here (another thread's) is left to the clean-up, which then runs as ever."""
    store_file = sys.modules.get("bot.store_file")  # not imported: no store was opened
    if store_file is None or store_file.close_every_store():
        gc.freeze()


__all__ = ["BotGroup", "Context", "cli", "main", "pass_context"]
