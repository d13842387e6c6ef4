from django.apps import AppConfig


class SellerbotConfig(AppConfig):
    name = "sellerbot"
    verbose_name = "Seller Bot"
