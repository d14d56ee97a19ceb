"""What the daily job tells after each run, and when the daemon starts after a crash: alerts
(``bot.operations.alerts``) and the heartbeat (``bot.operations.heartbeat``).

The ``run`` command makes one ``Watch`` from the config, reading the secrets of the alert and
heartbeat URLs then (a variable that is not set stops ``run`` with one line naming it, before
anything is sent); the scheduler calls it (``bot.publishing.scheduler.RunWatch``). Nothing it
does can stop posting: every failure is logged and the job goes on. A config without alerts
or heartbeat imports neither module: the idle daemon stays as small as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config import Config, Destination

if TYPE_CHECKING:
    from bot.operations.alerts import AlertTarget
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
        """The config's alert and heartbeat URLs, their secrets read."""
        watch = cls(config)
        if config.alerts.urls:
            from bot.operations.alerts import alert_targets

            watch.targets = alert_targets(config)
        if config.heartbeat is not None or any(
            d.heartbeat is not None for d in config.destinations.values()
        ):
            from bot.operations.heartbeat import heartbeat_urls

            watch.heartbeats = heartbeat_urls(config)
        return watch

    def after_run(
        self, store: Store, destination: Destination, run: DestinationRun, now: dt.datetime
    ) -> None:
        if self.targets:
            from bot.operations.alerts import check_incidents, deliver

            try:
                check_incidents(store, self.config, destination, now)
                deliver(store, self.targets, now)
            except Exception:  # the alerts must never stop the posts
                log.exception("%s: checking for alerts failed; posting goes on", destination.name)
        url = self.heartbeats.get(destination.name)
        if url:
            from bot.operations.heartbeat import beat

            try:
                beat(store, url, destination, run, now)
            except Exception:
                log.exception("%s: the heartbeat failed; posting goes on", destination.name)

    def restarted(self, store: Store, left_by: str, now: dt.datetime) -> None:
        if not self.targets:
            return
        from bot.operations.alerts import deliver, restarted

        try:
            restarted(store, self.config, left_by, now)
            deliver(store, self.targets, now)
        except Exception:
            log.exception("telling of the restart failed; posting goes on")
