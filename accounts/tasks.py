from accounts import services


def tokens_flush() -> None:
    services.tokens_flush_expired()
