"""Helpers for the browser tests: Debian's headless Chromium, driven from the command line."""
