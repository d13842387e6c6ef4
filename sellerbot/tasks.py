"""rq entry points of the Seller Bot."""

from project.tasks import database_task
from sellerbot import services


@database_task
def bot_watch_task() -> None:
    """Every maintenance interval: say so when the switched-on worker stopped beating."""
    services.worker_watch()
