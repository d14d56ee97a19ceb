"""Sending: the publish log's state machine, a destination's day, the daily scheduler."""
