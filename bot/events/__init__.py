"""Curators' files: the event schema, reading YAML/JSON/JSON lines, members and mention lists."""
