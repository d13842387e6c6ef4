"""The Seller Bot's dashboard pages, under /painel/ next to the jobs' (one namespace, `dashboard`)."""

from django.urls import path

from sellerbot import views

dashboard_urlpatterns = [
    path("seller-bot/", views.automation_page, name="sellerbot"),
]
