"""What the daily job tells after each run, and when the daemon starts after a crash: alerts
(``bot.operations.alerts``) and the heartbeat (``bot.operations.heartbeat``).

The ``run`` command makes one ``Watch`` from the config, reading the secrets of the alert and
heartbeat URLs then (a variable that is not set stops ``run`` with one line naming it, before
anything is sent); the scheduler calls it (``bot.publishing.scheduler.RunWatch``). Nothing it
does can stop posting: every failure is logged and the job goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from bot.config import Config, Destination
from bot.operations.alerts import AlertTarget, alert_targets, check_incidents, deliver, restarted
from bot.operations.heartbeat import beat, heartbeat_urls
from bot.publishing.scheduler import DestinationRun
from bot.secrets_filter import Secret
from bot.store import Store

log = logging.getLogger("bot.operations.watch")


@dataclass
class Watch:
    config: Config
    targets: list[AlertTarget] = field(default_factory=list)
    heartbeats: dict[str, Secret] = field(default_factory=dict)

    @classmethod
    def of(cls, config: Config) -> Watch:
        return cls(config, alert_targets(config), heartbeat_urls(config))

    def after_run(
        self, store: Store, destination: Destination, run: DestinationRun, now: dt.datetime
    ) -> None:
        if self.targets:
            try:
                check_incidents(store, self.config, destination, now)
                deliver(store, self.targets, now)
            except Exception:  # the alerts must never stop the posts
                log.exception("%s: checking for alerts failed; posting goes on", destination.name)
        url = self.heartbeats.get(destination.name)
        if url:
            try:
                beat(store, url, destination, run, now)
            except Exception:
                log.exception("%s: the heartbeat failed; posting goes on", destination.name)

    def restarted(self, store: Store, left_by: str, now: dt.datetime) -> None:
        if not self.targets:
            return
        try:
            restarted(store, self.config, left_by, now)
            deliver(store, self.targets, now)
        except Exception:
            log.exception("telling of the restart failed; posting goes on")
