from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts import services
from accounts.models import IntegrationToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active", "last_login")


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "label", "jti", "created_at", "expires_at", "revoked_at", "active")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__username", "label", "jti")
    readonly_fields = ("jti", "user", "created_at", "expires_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Tokens are issued by `manage.py issue_integration_token`, which prints the token once.
        return False

    @admin.display(boolean=True, description="ativo")
    def active(self, obj):
        return obj.is_active

    @admin.action(description="Revogar os tokens selecionados")
    def revoke(self, request, queryset):
        count = sum(services.integration_token_revoke(jti=t.jti) for t in queryset)
        self.message_user(request, f"{count} token(s) revogado(s).")
