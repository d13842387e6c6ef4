"""The chatbot in the admin: conversations with their messages and hand-offs, its one
configuration row and the history of its changes (read-only)."""

import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from project.admin_site import ReadOnlyModelAdmin
from sellerbot.chatbot import services
from sellerbot.chatbot.models import ChatbotConfig, ConfigChange, Conversation, HandOff, Message


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "author_kind", "author", "text", "intent", "confidence", "backend")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


class HandOffInline(admin.TabularInline):
    model = HandOff
    fields = ("created_at", "to", "actor_kind", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel", "status", "funnel_stage", "assigned_agent", "paused_until", "last_message_at")
    list_filter = ("channel", "status", "funnel_stage")
    search_fields = ("contact_id", "contact_name", "channel_conversation_id")
    readonly_fields = ("channel", "contact_id", "channel_conversation_id", "status", "funnel_stage",
                       "paused_until", "created_at", "last_message_at", "closed_at")
    fields = ("contact_name", "assigned_agent", *readonly_fields)
    inlines = [MessageInline, HandOffInline]
    actions = ["take_over", "hand_back"]

    @admin.action(description="Assumir as conversas selecionadas (o bot fica em silêncio)")
    def take_over(self, request, queryset):
        for conversation in queryset.exclude(status="closed"):
            services.conversation_hand_off(conversation=conversation, actor=request.user,
                                           reason="Assumida pela equipe no admin")
        self.message_user(request, "Conversas com a equipe.", messages.SUCCESS)

    @admin.action(description="Devolver as conversas selecionadas ao bot")
    def hand_back(self, request, queryset):
        for conversation in queryset.filter(status="human"):
            services.conversation_hand_back(conversation=conversation, actor=request.user,
                                            reason="Devolvida ao bot no admin")
        self.message_user(request, "Conversas devolvidas ao bot.", messages.SUCCESS)


@admin.register(ChatbotConfig)
class ChatbotConfigAdmin(admin.ModelAdmin):
    list_display = ("__str__", "llm_backend", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def has_add_permission(self, request):
        return not ChatbotConfig.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyModelAdmin):
    """Who changed the chatbot's configuration, when, and each field from what to what."""

    list_display = ("changed_at", "changed_by", "fields_changed")
    list_filter = ("changed_at",)
    search_fields = ("changed_by__username",)
    date_hierarchy = "changed_at"
    list_select_related = ("changed_by",)
    fields = ("changed_at", "changed_by", "changes_shown")
    readonly_fields = fields

    @admin.display(description="campos alterados")
    def fields_changed(self, change: ConfigChange) -> str:
        return str(change)

    @admin.display(description="alterações")
    def changes_shown(self, change: ConfigChange) -> str:
        return format_html("<pre>{}</pre>", json.dumps(change.changes, ensure_ascii=False, indent=2))
