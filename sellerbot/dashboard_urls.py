"""The Seller Bot's dashboard pages, under /painel/ next to the jobs' (one namespace, `dashboard`)."""

from django.urls import path

from sellerbot import views
from sellerbot.chatbot import views as chatbot_views

dashboard_urlpatterns = [
    path("seller-bot/", views.automation_page, name="sellerbot"),
    path("seller-bot/chatbot/", chatbot_views.chatbot_page, name="sellerbot-chatbot"),
]
