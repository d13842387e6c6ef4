"""/seller-bot/*: the chatbot's staff routes, with seed 004's paths (JWT or the console's session).

They speak the seed's error dialect like /bot/* (project/seed.py). Conversations belong to the
shop, not to one person: reading them needs a staff account or `sellerbot.view_conversation`,
changing them `sellerbot.change_conversation` (superusers have both).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from sellerbot.api import BotApi
from sellerbot.chatbot import selectors, services
from sellerbot.chatbot.models import Channel, ConversationStatus, HandOffTo
from sellerbot.chatbot.serializers import (
    ConversationSerializer,
    HandOffInSerializer,
    MessageInSerializer,
    MessageOutSerializer,
)
from sellerbot.serializers import id_from_path

MAX_CONVERSATIONS_LISTED = 200


class CanHandleConversations(BasePermission):
    message = ("Você não tem permissão para atender conversas do chatbot "
               "(permissão sellerbot.change_conversation). Peça acesso a um administrador.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method in SAFE_METHODS:
            return user.is_staff or user.has_perm("sellerbot.view_conversation") or \
                user.has_perm("sellerbot.change_conversation")
        return user.has_perm("sellerbot.change_conversation")


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


def _conflict(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


def _invalid_query(name: str, message: str) -> Response:
    return Response({"detail": [{"loc": ["query", name], "msg": message, "type": "value_error"}]}, status=422)
