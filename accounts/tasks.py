from accounts import services
from project.tasks import database_task


@database_task
def tokens_flush() -> None:
    services.tokens_flush_expired()
