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
