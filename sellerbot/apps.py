from django.apps import AppConfig


class SellerbotConfig(AppConfig):
    name = "sellerbot"
    verbose_name = "Seller Bot"

    def ready(self) -> None:
        from sellerbot.metrics import collector_register

        collector_register()
