"""anniversary-bot: a community's daily "this day in history" threads, posted exactly once."""

__version__ = "0.1.0"
