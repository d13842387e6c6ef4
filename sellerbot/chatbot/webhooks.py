"""The channels' webhooks (seed 004): prove the sender, parse, store, answer 2xx at once.

The reply is never produced here: Chatwoot waits 5 s before it hands the conversation to people,
and a language model can take longer. The message is stored (so it is never lost) and a job
answers it (services.conversation_reply). A 4xx is only for what a retry cannot fix — Evolution
stops retrying after one —, so a database or Redis outage is a 503 (project.middleware) and the
channel delivers again later.
"""

import logging
import math

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from project.jsonbody import JsonTooDeepError, json_loads_bounded
from project.ratelimit import RedisMinuteThrottle
from sellerbot.channels import Malformed, Refused, channel_module
from sellerbot.chatbot import services
from sellerbot.chatbot.models import WebhookReceipt

logger = logging.getLogger(__name__)


class WebhookThrottle(RedisMinuteThrottle):
    scope = "chatbot-webhook"
    rate_setting = "CHATBOT_WEBHOOK_RATE_PER_MINUTE"


@method_decorator(csrf_exempt, name="dispatch")
class ChannelWebhook(View):
    channel_name = ""
    http_method_names = ["post"]

    def post(self, request):
        throttle = WebhookThrottle()
        if not throttle.allow_request(request, self):
            wait = math.ceil(throttle.wait() or 1)
            response = JsonResponse({"detail": f"Muitos webhooks deste endereço; tente novamente em {wait} s."},
                                    status=429)
            response["Retry-After"] = str(wait)
            return response
        channel = channel_module(self.channel_name)
        try:
            channel.verify(request)
            payload = _json(request.body)
            messages = channel.parse(payload, request)
        except Refused as refused:
            logger.warning("%s webhook refused: %s", self.channel_name, refused.detail)
            return JsonResponse({"detail": refused.detail}, status=refused.status)
        except Malformed as malformed:
            return JsonResponse({"detail": str(malformed)}, status=400)
        outcomes = _store(channel, request, messages)
        if outcomes is None:
            return JsonResponse({"status": "duplicate", "detail": "Entrega já recebida."})
        return JsonResponse({"status": "ok", "received": len(messages),
                             "stored": outcomes.count("stored"), "duplicates": outcomes.count("duplicate")})


class ChatwootWebhook(ChannelWebhook):
    channel_name = "chatwoot"


class EvolutionWebhook(ChannelWebhook):
    channel_name = "evolution"


class InstagramWebhook(ChannelWebhook):
    channel_name = "instagram"
    http_method_names = ["get", "post"]

    def get(self, request):
        try:
            challenge = channel_module("instagram").verify_subscription(request.GET)
        except Refused as refused:
            return HttpResponse(refused.detail, status=403, content_type="text/plain; charset=utf-8")
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")


def _json(body: bytes):
    try:
        return json_loads_bounded(body)
    except JsonTooDeepError as exc:
        raise Malformed(f"Webhook inválido: {exc}") from None
    except ValueError:  # JSONDecodeError, bytes that are not UTF-8
        raise Malformed("Webhook inválido: o corpo não é JSON válido.") from None


def _store(channel, request, messages) -> list[str] | None:
    """Each message stored once; None when the channel says this whole delivery came before."""
    delivery_id = channel.delivery_id(request) if hasattr(channel, "delivery_id") else ""
    with transaction.atomic():
        if delivery_id:
            try:
                with transaction.atomic():
                    WebhookReceipt.objects.create(channel=channel.CHANNEL, delivery_id=delivery_id)
            except IntegrityError:
                return None
        return [services.channel_message_receive(channel=channel.CHANNEL, inbound=message) for message in messages]
