"""What /seller-bot/* accepts and returns (seed 004). Ids go out as strings, like /bot/*."""

from rest_framework import serializers

from project.seed import StrictCharField, StrictSerializer
from sellerbot.chatbot.models import Channel, Conversation, HandOffTo

MAX_MESSAGE_CHARS = 4000


class MessageInSerializer(StrictSerializer):
    contact_id = StrictCharField(max_length=200, trim_whitespace=True)
    message = StrictCharField(max_length=MAX_MESSAGE_CHARS, trim_whitespace=True)
    channel = serializers.ChoiceField(choices=Channel.values, required=False, default=Channel.API)
    contact_name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class MessageOutSerializer(serializers.Serializer):
    contact_id = serializers.CharField()
    channel = serializers.CharField()
    conversation_id = serializers.CharField()
    reply = serializers.CharField(allow_null=True, help_text="null quando o bot fica em silêncio.")
    intent = serializers.CharField()
    confidence = serializers.FloatField()
    status = serializers.CharField()
    funnel_stage = serializers.CharField()
    handed_off = serializers.BooleanField()
    silent_because = serializers.CharField(help_text='"human", "paused" ou vazio.')


class HandOffInSerializer(StrictSerializer):
    to = serializers.ChoiceField(choices=HandOffTo.values, required=False, default=HandOffTo.HUMAN)
    reason = StrictCharField(max_length=300, required=False, allow_blank=True, default="")


class ConversationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    assigned_agent = serializers.SlugRelatedField(slug_field="username", read_only=True)
    message_count = serializers.IntegerField(read_only=True)
    last_message = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = ("id", "channel", "contact_id", "contact_name", "status", "funnel_stage", "assigned_agent",
                  "paused_until", "created_at", "last_message_at", "message_count", "last_message")
