"""The bot worker's beat: while the process lives, prove it (bot:worker:heartbeat) and, while
the switch is on, dispatch due tasks. It runs beside the rq worker of the `tiktok` queue in
`manage.py sellerbot_worker`, so a killed worker stops beating and shows as stopped."""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

from sellerbot import services

logger = logging.getLogger(__name__)


class BotBeat(threading.Thread):
    def __init__(self, *, worker_name: str):
        super().__init__(name="sellerbot-beat", daemon=True)
        self.worker_name = worker_name
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    close_old_connections()
                    services.worker_beat(worker_name=self.worker_name)
                except Exception:  # noqa: BLE001 - the next beat tries again
                    logger.warning("Seller Bot worker beat failed; retrying", exc_info=True)
                self._stopped.wait(settings.BOT_WORKER_TICK_MS / 1000)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)
