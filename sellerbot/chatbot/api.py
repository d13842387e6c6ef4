"""/seller-bot/*: the chatbot's staff routes, with seed 004's paths (JWT or the console's session).

They speak the seed's error dialect like /bot/* (project/seed.py). Conversations belong to the
shop, not to one person: reading them (and the chatbot's figures and configuration) needs a staff
account or `sellerbot.view_conversation`, changing them `sellerbot.change_conversation`, changing
the configuration `sellerbot.change_chatbotconfig` (superusers have all). /seller-bot/health
needs no login and says nothing secret.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from project.seed import SeedErrorSerializer, SeedValidationError, SeedValidationErrorSerializer, validation_errors
from sellerbot.api import BotApi, BotApiThrottle
from sellerbot.chatbot import notifications, selectors, services
from sellerbot.chatbot.models import Channel, ConversationStatus, HandOffTo
from sellerbot.chatbot.serializers import (
    ChatbotConfigSerializer,
    ChatbotConfigUpdateSerializer,
    ChatbotFunnelSerializer,
    ChatbotHealthSerializer,
    ChatbotIntentStatsSerializer,
    ChatbotStatsSerializer,
    ConversationSerializer,
    HandOffInSerializer,
    MessageInSerializer,
    MessageOutSerializer,
    StaffReplyInSerializer,
    StatsQuerySerializer,
    ThreadMessageSerializer,
    ThreadSerializer,
)
from sellerbot.serializers import id_from_path

DETAIL = SeedErrorSerializer
INVALID = SeedValidationErrorSerializer
MAX_CONVERSATIONS_LISTED = 200


class CanHandleConversations(BasePermission):
    message = ("Você não tem permissão para atender conversas do chatbot "
               "(permissão sellerbot.change_conversation). Peça acesso a um administrador.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method in SAFE_METHODS:
            return may_read_chatbot(user)
        return user.has_perm("sellerbot.change_conversation")


class CanReadChatbot(BasePermission):
    message = ("Você não tem permissão para ver o chatbot (conta da equipe ou permissão "
               "sellerbot.view_conversation). Peça acesso a um administrador.")

    def has_permission(self, request, view) -> bool:
        return may_read_chatbot(request.user)


class CanConfigureChatbot(CanReadChatbot):
    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        # DRF reads the message after the refusal: name the permission this method needs.
        self.message = ("Você não tem permissão para alterar a configuração do chatbot "
                        "(permissão sellerbot.change_chatbotconfig). Peça acesso a um administrador.")
        return request.user.has_perm("sellerbot.change_chatbotconfig")


def may_read_chatbot(user) -> bool:
    return user.is_staff or user.has_perm("sellerbot.view_conversation") or \
        user.has_perm("sellerbot.change_conversation")


class ChatbotApi(BotApi):
    permission_classes = [IsAuthenticated, CanHandleConversations]


class MessageApi(ChatbotApi):
    @extend_schema(operation_id="seller_bot_message", request=MessageInSerializer,
                   responses={200: MessageOutSerializer})
    def post(self, request):
        payload = MessageInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        outcome = services.message_process(channel=data["channel"], contact_id=data["contact_id"],
                                           text=data["message"], contact_name=data["contact_name"])
        conversation = outcome.conversation
        return Response({
            "contact_id": conversation.contact_id, "channel": conversation.channel,
            "conversation_id": str(conversation.pk), "reply": outcome.reply.text if outcome.reply else None,
            "intent": outcome.intent, "confidence": outcome.confidence, "status": conversation.status,
            "funnel_stage": conversation.funnel_stage, "handed_off": outcome.handed_off,
            "silent_because": outcome.silent_because,
        })


class ConversationsApi(ChatbotApi):
    @extend_schema(
        operation_id="seller_bot_conversations_list",
        parameters=[OpenApiParameter("channel", str, enum=Channel.values),
                    OpenApiParameter("status", str, enum=[ConversationStatus.BOT, ConversationStatus.HUMAN])],
        responses={200: ConversationSerializer(many=True)},
    )
    def get(self, request):
        channel = request.query_params.get("channel", "")
        state = request.query_params.get("status", "")
        if channel and channel not in Channel.values:
            return _invalid_query("channel", f"canal desconhecido; use um de: {', '.join(Channel.values)}")
        if state and state not in (ConversationStatus.BOT, ConversationStatus.HUMAN):
            return _invalid_query("status", "use bot ou human (as encerradas ficam no histórico)")
        conversations = selectors.conversations_active(channel=channel, status=state)[:MAX_CONVERSATIONS_LISTED]
        return Response(ConversationSerializer(conversations, many=True).data)

    @extend_schema(operation_id="seller_bot_conversations_close_all", responses={200: dict})
    def delete(self, request):
        closed = services.conversations_close_active()
        return Response({"closed": closed,
                         "detail": f"{closed} conversa(s) encerrada(s); o histórico foi mantido."})


class HandOffApi(ChatbotApi):
    @extend_schema(operation_id="seller_bot_conversation_handoff", request=HandOffInSerializer,
                   responses={200: ConversationSerializer})
    def post(self, request, conversation_id: str):
        conversation = selectors.conversation_get(id_from_path(conversation_id))
        if conversation is None:
            raise exceptions.NotFound(f"Conversa '{conversation_id[:40]}' não encontrada")
        payload = HandOffInSerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        to, reason = payload.validated_data["to"], payload.validated_data["reason"]
        if conversation.status == ConversationStatus.CLOSED:
            return _conflict("A conversa está encerrada; ela reabre quando o cliente escrever de novo.")
        if to == HandOffTo.HUMAN:
            if conversation.status == ConversationStatus.HUMAN:
                return _conflict("A conversa já está com uma pessoa da equipe.")
            conversation = services.conversation_hand_off(conversation=conversation, actor=request.user,
                                                          reason=reason)
        else:
            if conversation.status == ConversationStatus.BOT:
                return _conflict("A conversa já está com o bot.")
            conversation = services.conversation_hand_back(conversation=conversation, actor=request.user,
                                                           reason=reason)
        listed = selectors.conversations_active().get(pk=conversation.pk)
        return Response(ConversationSerializer(listed).data)


class ChatbotStatsApi(ChatbotApi):
    permission_classes = [IsAuthenticated, CanReadChatbot]

    @extend_schema(operation_id="seller_bot_stats", parameters=[StatsQuerySerializer],
                   description="Os números do chatbot nos últimos `days` dias: conversas (por situação e canal), "
                               "mensagens, transferências, confiança média, fração não entendida, envios pendentes "
                               "e desistidos.",
                   responses={200: ChatbotStatsSerializer, 403: DETAIL, 422: INVALID})
    def get(self, request):
        return Response(ChatbotStatsSerializer(selectors.chatbot_stats(days=_days(request))).data)


class IntentStatsApi(ChatbotApi):
    permission_classes = [IsAuthenticated, CanReadChatbot]

    @extend_schema(operation_id="seller_bot_stats_intents", parameters=[StatsQuerySerializer],
                   description="Cada intenção (todas, com zero também): mensagens dos clientes, fração e "
                               "confiança média nos últimos `days` dias.",
                   responses={200: ChatbotIntentStatsSerializer, 403: DETAIL, 422: INVALID})
    def get(self, request):
        return Response(ChatbotIntentStatsSerializer(selectors.intent_stats(days=_days(request))).data)


class FunnelApi(ChatbotApi):
    permission_classes = [IsAuthenticated, CanReadChatbot]

    @extend_schema(operation_id="seller_bot_stats_funnel", parameters=[StatsQuerySerializer],
                   description="O funil de vendas das conversas dos últimos `days` dias: quantas chegaram a cada "
                               "etapa (contato → interesse → pediu preço → intenção de compra → pedido) e a "
                               "conversão de uma etapa para a seguinte.",
                   responses={200: ChatbotFunnelSerializer, 403: DETAIL, 422: INVALID})
    def get(self, request):
        return Response(ChatbotFunnelSerializer(selectors.funnel_stats(days=_days(request))).data)


class ConfigApi(ChatbotApi):
    permission_classes = [IsAuthenticated, CanConfigureChatbot]

    @extend_schema(operation_id="seller_bot_config_get", description="A configuração do chatbot.",
                   responses={200: ChatbotConfigSerializer, 403: DETAIL})
    def get(self, request):
        return Response(ChatbotConfigSerializer(selectors.config_current()).data)

    @extend_schema(operation_id="seller_bot_config_update", request=ChatbotConfigUpdateSerializer,
                   description="Altera os campos enviados (cada um validado; campos desconhecidos recusados). "
                               "Cada alteração fica registrada com quem a fez e os valores antigo e novo.",
                   responses={200: ChatbotConfigSerializer, 403: DETAIL, 422: INVALID})
    def patch(self, request):
        payload = ChatbotConfigUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        config = services.config_update(user=request.user, changes=payload.validated_data)
        return Response(ChatbotConfigSerializer(config).data)


class HealthThrottle(BotApiThrottle):
    # Counted apart from the staff routes: a monitor polling from the console's own address must
    # not use up the dashboard's requests, nor they its.
    scope = "seller-bot-health"


class HealthApi(BotApi):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [HealthThrottle]

    @extend_schema(operation_id="seller_bot_health", auth=[], responses={200: ChatbotHealthSerializer},
                   description="Saúde do chatbot, sem login e sem segredos: Redis, o gerador de respostas e, por "
                               "canal, se está configurado e os últimos envios. Sempre 200; `status` diz "
                               "\"ok\" ou \"degraded\".")
    def get(self, request):
        # 200 when degraded too: a monitoring page reads the body, not the status code.
        response = Response(ChatbotHealthSerializer(selectors.chatbot_health()).data)
        response["Cache-Control"] = "no-store"
        return response


class ThreadApi(ChatbotApi):
    """One conversation's messages, and a person's reply to it (sent through its channel)."""

    @extend_schema(operation_id="seller_bot_conversation_messages",
                   parameters=[OpenApiParameter("before", int, description="Mensagens anteriores a este id.")],
                   responses={200: ThreadSerializer, 404: SeedErrorSerializer})
    def get(self, request, conversation_id: str):
        conversation = _conversation(conversation_id)
        before = request.query_params.get("before", "")
        if before and id_from_path(before) is None:
            return _invalid_query("before", "deve ser o id numérico de uma mensagem")
        messages = selectors.conversation_thread(conversation, before=id_from_path(before) if before else None)
        return Response({"conversation": notifications.conversation_summary(conversation),
                         "messages": [notifications.message_summary(message) for message in messages]})

    @extend_schema(operation_id="seller_bot_conversation_reply", request=StaffReplyInSerializer,
                   responses={201: ThreadMessageSerializer, 404: SeedErrorSerializer, 409: SeedErrorSerializer,
                              422: SeedValidationErrorSerializer})
    def post(self, request, conversation_id: str):
        conversation = _conversation(conversation_id)
        payload = StaffReplyInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            message = services.conversation_staff_reply(conversation=conversation, user=request.user,
                                                        text=payload.validated_data["text"])
        except services.ConversationClosed:
            return _conflict("A conversa está encerrada; ela reabre quando o cliente escrever de novo.")
        except services.OutsideMessagingWindow:
            return _conflict("Fora da janela de 24 horas do Instagram: o cliente escreveu pela última vez há mais "
                             "de 24 horas, e o Instagram só entrega mensagens da loja dentro desse prazo.")
        return Response(notifications.message_summary(message), status=status.HTTP_201_CREATED)


def _conversation(raw_id: str):
    conversation = selectors.conversation_get(id_from_path(raw_id))
    if conversation is None:
        raise exceptions.NotFound(f"Conversa '{raw_id[:40]}' não encontrada")
    return conversation


def _days(request) -> int:
    query = StatsQuerySerializer(data=request.query_params.dict())
    if not query.is_valid():
        raise SeedValidationError(validation_errors(query.errors, "query"))
    return query.validated_data["days"]


def _conflict(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


def _invalid_query(name: str, message: str) -> Response:
    return Response({"detail": [{"loc": ["query", name], "msg": message, "type": "value_error"}]}, status=422)
