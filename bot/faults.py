"""Crash points for the crash tests: ``ANNIVERSARY_BOT_CRASH_AT=STEP:KEY`` kills this process
with SIGKILL when publishing reaches STEP for the post whose key ends with KEY.

Steps: ``before-request`` (the log says "sending", nothing sent), ``after-response`` (the
platform accepted the post, the log does not know yet), ``between-parts`` (a part is logged
as sent, the next one not started). Unset, this costs one dictionary lookup per step.
"""

from __future__ import annotations

import os
import signal


def checkpoint(step: str, key: str) -> None:
    target = os.environ.get("ANNIVERSARY_BOT_CRASH_AT")
    if not target:
        return
    target_step, _, target_key = target.partition(":")
    if target_step == step and key.endswith(target_key):
        os.kill(os.getpid(), signal.SIGKILL)
