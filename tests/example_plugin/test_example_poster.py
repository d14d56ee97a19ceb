"""The bot's contract suite over this plugin's adapter, run from the plugin's own folder:

pip install anniversary-bot[test] .
python -m pytest test_example_poster.py
"""

from example_poster_harness import JsonLinesHarness

from bot.testing.contract import *  # noqa: F403 - the contract's tests and fixtures

HARNESSES = [JsonLinesHarness]
