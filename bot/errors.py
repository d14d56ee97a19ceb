"""Errors a person sees as one line: what is wrong, where, and how to fix it."""


class BotError(Exception):
    """An error shown to the user as a single line, with exit code ``exit_code``."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(BotError):
    """Bad input (an event file, a date, a config value): exit code 2."""

    exit_code = 2


class ConfigError(InputError):
    """The configuration is invalid."""


class EventRenderError(InputError):
    """An event that cannot be rendered (it names a member or list that is gone, say): the
    message names the event and the file it came from, so a person knows what to fix."""

    def __init__(self, event_id: str, source: str | None, reason: str) -> None:
        where = f"event {event_id}" + (f" (from {source})" if source else "")
        super().__init__(f"{where}: {reason}")
        self.event_id = event_id
        self.source = source
        self.reason = reason
