"""The chatbot page (/painel/seller-bot/chatbot/): who may open it and who may act on it, what it
draws from the selectors before any script runs (the open conversations, the figures, the thread
asked for), the data it hands its script, and the navigation link."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from project.outbox import OutboxState
from sellerbot.chatbot import services
from sellerbot.chatbot.models import Conversation, ConversationStatus, Message, ReplyDelivery

pytestmark = pytest.mark.django_db

PAGE = "/painel/seller-bot/chatbot/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def allowed(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="sellerbot", codename__in=codenames))
    return user


@pytest.fixture
def dave(django_user_model):
    """Neither staff nor allowed to read conversations."""
    return django_user_model.objects.create_user("dave", "dave@example.com", "dave-pass")


@pytest.fixture
def eve(django_user_model):
    """Staff, without sellerbot.change_conversation."""
    return django_user_model.objects.create_user("eve", "eve@example.com", "eve-pass", is_staff=True)


@pytest.fixture
def agent(alice):
    """Alice, staff, allowed to take conversations over and reply."""
    return allowed(alice, "change_conversation")


@pytest.fixture
def maria():
    """A WhatsApp customer who asked the price; the bot answered and its reply was delivered."""
    outcome = services.message_process(channel="whatsapp", contact_id="whatsapp:5511987654321",
                                       text="Quanto custa o fone?", contact_name="Maria Silva")
    ReplyDelivery.objects.create(message=outcome.reply, state=OutboxState.DELIVERED, channel="whatsapp")
    return outcome.conversation


@pytest.fixture
def joao(agent):
    """An Instagram customer a person of the shop took over."""
    outcome = services.message_process(channel="instagram", contact_id="ig:6291045828461234",
                                       text="Vocês entregam em Campinas?", contact_name="João")
    return services.conversation_hand_off(conversation=outcome.conversation, actor=agent)


def test_it_asks_for_a_login_first():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_refuses_someone_without_the_permission(dave, bob):
    assert signed_in(dave).get(PAGE).status_code == 403
    assert signed_in(bob).get(PAGE).status_code == 403  # may run the TikTok automation, not read chats


def test_it_opens_for_staff_without_the_permission_but_read_only(eve, maria):
    response = signed_in(eve).get(f"{PAGE}?conversa={maria.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="cb-read-only"' in html and "sellerbot.change_conversation" in html
    assert 'data-can-reply="0"' in html
    for control in ("cb-reply-form", "cb-take", "cb-give-back"):
        assert f'id="{control}"' not in html
    assert "Quanto custa o fone?" in html  # the thread is there to read


def test_it_opens_read_only_for_who_may_view_conversations(dave, maria):
    allowed(dave, "view_conversation")
    response = signed_in(dave).get(PAGE)
    assert response.status_code == 200
    assert 'id="cb-read-only"' in response.content.decode()


def test_who_may_change_conversations_gets_the_controls(agent, maria):
    html = signed_in(agent).get(f"{PAGE}?conversa={maria.pk}").content.decode()
    assert 'id="cb-read-only"' not in html and 'data-can-reply="1"' in html
    assert ">Assumir conversa<" in html and ">Devolver ao bot<" in html
    assert 'id="cb-reply-form"' in html and 'maxlength="4000"' in html


def test_it_lists_the_open_conversations_newest_first(agent, maria, joao):
    closed = services.message_process(channel="api", contact_id="api:1", text="Oi",
                                      contact_name="Encerrado").conversation
    Conversation.objects.filter(pk=closed.pk).update(status=ConversationStatus.CLOSED)
    html = signed_in(agent).get(PAGE).content.decode()
    listed = re.search(r'<ul class="cb-conversations" id="cb-conversation-list">(.*?)</ul>', html, re.S).group(1)
    ids = re.findall(r'<li class="cb-conv[^"]*" data-conversation-id="(\d+)"', listed)
    assert ids == [str(joao.pk), str(maria.pk)]
    assert "Encerrado" not in listed
    maria_item = item(listed, maria.pk)
    assert "cb-channel-whatsapp" in maria_item and ">WhatsApp<" in maria_item and "Maria Silva" in maria_item
    assert "Com o bot" in maria_item and "Pediu preço" in maria_item
    assert maria.messages.order_by("-id").first().text in maria_item  # the last message
    assert re.search(r'<time class="cb-conv-time" datetime="[^"]+">\d\d:\d\d</time>', maria_item)
    joao_item = item(listed, joao.pk)
    assert "Com uma pessoa" in joao_item and ">alice<" in joao_item and ">Instagram<" in joao_item
    assert 'id="cb-count">2<' in html


def item(listed: str, conversation_id) -> str:
    return re.search(rf'data-conversation-id="{conversation_id}".*?</li>', listed, re.S).group(0)


def test_it_says_so_when_no_conversation_is_open(agent):
    html = signed_in(agent).get(PAGE).content.decode()
    assert "Nenhuma conversa aberta agora." in html
    assert "Escolha uma conversa na lista" in html
    assert re.search(r'<div class="cb-thread-body" id="cb-thread-body" hidden>', html)


def test_it_filters_the_list_by_status_and_channel(agent, maria, joao):
    html = signed_in(agent).get(f"{PAGE}?situacao=human").content.decode()
    assert f'data-conversation-id="{joao.pk}"' in html and f'data-conversation-id="{maria.pk}"' not in html
    html = signed_in(agent).get(f"{PAGE}?canal=whatsapp").content.decode()
    assert f'data-conversation-id="{maria.pk}"' in html and f'data-conversation-id="{joao.pk}"' not in html
    assert f'href="?conversa={maria.pk}&amp;canal=whatsapp"' in html  # the links keep the filter
    html = signed_in(agent).get(f"{PAGE}?canal=telegram&situacao=closed&dias=9999").content.decode()
    assert f'data-conversation-id="{maria.pk}"' in html and f'data-conversation-id="{joao.pk}"' in html
    assert 'data-days="7"' in html


def test_it_draws_the_thread_asked_for_as_bubbles(agent, maria):
    staff_reply = services.conversation_staff_reply(conversation=maria, user=agent, text="Oi Maria!\nTemos sim.")
    html = signed_in(agent).get(f"{PAGE}?conversa={maria.pk}").content.decode()
    assert f'id="cb-thread" data-conversation-id="{maria.pk}"' in html
    assert '<h2 id="cb-thread-title">Maria Silva</h2>' in html
    assert "whatsapp:5511987654321" in html and "Com uma pessoa" in html and "atendida por alice" in html
    thread = re.search(r'<ol class="cb-messages" id="cb-messages">(.*?)</ol>', html, re.S).group(1)
    kinds = re.findall(r'<li class="cb-msg cb-msg-(\w+)" data-message-id="(\d+)" data-delivery="(\w*)"', thread)
    bot_reply = maria.messages.get(author_kind="bot")
    assert [kind for kind, _, _ in kinds] == ["customer", "bot", "human"]
    assert [(message_id, delivery) for _, message_id, delivery in kinds][1:] == [
        (str(bot_reply.pk), "DELIVERED"), (str(staff_reply.pk), "PENDING")]
    assert ">enviada<" in thread and ">enviando…<" in thread
    assert '<span class="cb-author">Bot</span>' in thread and '<span class="cb-author">alice · equipe</span>' in thread
    assert '<span class="cb-intent">Preço</span>' in thread
    assert "Oi Maria!\nTemos sim." in thread  # line breaks kept (pre-wrap), not turned into markup
    assert f'class="cb-conv selected" data-conversation-id="{maria.pk}"' in html


def test_an_undelivered_reply_says_so(agent, maria):
    ReplyDelivery.objects.filter(message__conversation=maria).update(state=OutboxState.ABANDONED)
    html = signed_in(agent).get(f"{PAGE}?conversa={maria.pk}").content.decode()
    assert 'cb-delivery-abandoned">não entregue<' in html


def test_an_unknown_conversation_is_named_not_found(agent):
    response = signed_in(agent).get(f"{PAGE}?conversa=99999")
    assert response.status_code == 200
    assert "A conversa 99999 não foi encontrada." in response.content.decode()


def test_the_names_and_texts_of_customers_are_escaped(agent):
    outcome = services.message_process(channel="api", contact_id="api:x", text="<img src=x onerror=alert(1)>",
                                       contact_name="<script>alert(1)</script>")
    html = signed_in(agent).get(f"{PAGE}?conversa={outcome.conversation.pk}").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_cards_show_the_periods_figures(agent, maria, joao):
    Message.objects.filter(conversation=joao).update(created_at=timezone.now() - timedelta(days=3))
    html = signed_in(agent).get(PAGE).content.decode()
    assert re.search(r'data-stat="active">2<', html)
    assert "1 com uma pessoa · 1 com o bot" in html
    assert re.search(r'data-stat="messages">4<', html)  # two questions and two bot answers
    assert re.search(r'data-stat="handoffs">1<', html)
    assert re.search(r'data-stat="pending">0<', html) and "0 não entregues" in html
    day = signed_in(agent).get(f"{PAGE}?dias=1").content.decode()
    assert re.search(r'data-stat="messages">2<', day) and 'data-days="1"' in day
    assert "Período dos números: últimas 24 horas." in day


def test_the_charts_draw_a_bar_per_intent_and_funnel_stage(agent, maria, joao):
    html = signed_in(agent).get(PAGE).content.decode()
    price = re.search(r'<li class="cb-bar-row" data-intent="price">.*?</li>', html, re.S).group(0)
    assert "Preço" in price and 'width="100.0"' in price and "<strong>1</strong>" in price and "50,0%" in price
    greeting = re.search(r'<li class="cb-bar-row" data-intent="greeting">.*?</li>', html, re.S).group(0)
    assert 'width="0.0"' in greeting and "<strong>0</strong>" in greeting
    contact = re.search(r'<li class="cb-bar-row" data-stage="contact".*?</li>', html, re.S).group(0)
    assert 'width="100.0"' in contact and "<strong>2</strong>" in contact
    asked = re.search(r'<li class="cb-bar-row" data-stage="price_asked".*?</li>', html, re.S).group(0)
    assert 'width="50.0"' in asked and "50,0% da anterior" in asked


def test_the_charts_say_so_when_the_period_is_empty(agent):
    html = signed_in(agent).get(PAGE).content.decode()
    assert re.search(r'<p class="empty cb-chart-empty" data-chart-empty="intents">', html)
    assert "Nenhuma mensagem de cliente no período." in html and "Nenhuma conversa no período." in html


def test_it_hands_its_script_the_labels_the_state_and_the_api_routes_without_inline_code(agent, maria):
    html = signed_in(agent).get(f"{PAGE}?conversa={maria.pk}").content.decode()
    labels = json.loads(re.search(r'<script id="chatbot-labels" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))
    assert labels["status"]["human"] == "Com uma pessoa" and labels["channel"]["instagram"] == "Instagram"
    assert labels["delivery"] == {"PENDING": "enviando…", "DELIVERED": "enviada", "ABANDONED": "não entregue"}
    state = json.loads(re.search(r'<script id="chatbot-state" type="application/json">(.*?)</script>',
                                 html, re.S).group(1))
    assert [row["id"] for row in state["conversations"]] == [str(maria.pk)]
    assert state["thread"]["conversation"]["id"] == str(maria.pk)
    assert 'data-live="chatbot"' in html and 'data-live-streams="chatbot"' in html
    assert 'data-conversations-url="/seller-bot/conversations"' in html
    assert 'data-stats-url="/seller-bot/stats"' in html and 'data-funnel-url="/seller-bot/stats/funnel"' in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)
    assert 'src="/static/js/live.js"' in html and 'src="/static/js/chatbot.js"' in html
    assert " style=" not in html


def test_the_navigation_links_the_page_for_who_may_read_conversations(eve, bob, dave):
    html = signed_in(eve).get(PAGE).content.decode()
    assert re.search(r'<a href="/painel/seller-bot/chatbot/"\s+aria-current="page">Chatbot IA</a>', html)
    assert re.search(r'<a href="/painel/seller-bot/"\s+>Seller Bot</a>', html)
    # Bob runs the TikTok automation but may not read conversations: no link to a page he cannot open.
    assert 'href="/painel/seller-bot/chatbot/"' not in signed_in(bob).get("/painel/seller-bot/").content.decode()
    allowed(bob, "view_conversation")
    assert 'href="/painel/seller-bot/chatbot/"' in signed_in(bob).get("/painel/seller-bot/").content.decode()
