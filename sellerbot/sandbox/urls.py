"""/sandbox/tiktok/…: an imitation of TikTok Seller Center (SANDBOX_PORTALS=1).

The pages, accounts and error paths are described in sellerbot/sandbox/views.py and store.py.
"""

from django.urls import path
from django.views.generic import RedirectView

from sellerbot.sandbox import views

app_name = "tiktok_sandbox"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tiktok_sandbox:comments"), name="home"),
    path("entrar", views.login, name="login"),
    path("verificacao", views.verification, name="verification"),
    path("sair", views.logout, name="logout"),
    path("comentarios", views.comments, name="comments"),
    path("comentarios/<str:comment_id>/responder", views.comment_reply, name="comment-reply"),
    path("mensagens", views.messages, name="messages"),
    path("mensagens/<str:conversation_id>/responder", views.message_reply, name="message-reply"),
    path("pedidos", views.orders, name="orders"),
    path("estoque", views.stock, name="stock"),
    path("estoque/<str:sku>/salvar", views.stock_save, name="stock-save"),
]
