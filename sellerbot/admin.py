"""The Seller Bot in the admin: profiles (never their password or session), tasks with their
runs, the worker switch and the counters behind /metrics."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count

from project.admin_site import ReadOnlyModelAdmin
from sellerbot import services
from sellerbot.models import BotCounter, BotTask, BotTaskRun, Profile, TaskStatus, WorkerSwitch


class ProfileForm(forms.ModelForm):
    """A new password replaces the stored one; left empty, the stored one stays."""

    new_password = forms.CharField(
        label="nova senha", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Guardada cifrada; nunca é mostrada. Deixe em branco para manter a atual.",
    )

    class Meta:
        model = Profile
        fields = ("owner", "name", "region", "username", "login_status", "status_message")

    def save(self, commit=True):
        profile = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            profile.credentials = {"senha": self.cleaned_data["new_password"]}  # a new login drops the session
        if commit:
            profile.save()
        return profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ("name", "username", "region", "login_status", "last_verified_at", "owner", "task_count")
    list_filter = ("login_status", "region")
    search_fields = ("name", "username", "owner__username")
    readonly_fields = ("last_verified_at", "created_at")
    actions = ["verify_profiles"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(task_count=Count("tasks"))

    @admin.display(description="tarefas", ordering="task_count")
    def task_count(self, profile):
        return profile.task_count

    @admin.action(description="Verificar o login no TikTok dos perfis selecionados")
    def verify_profiles(self, request, queryset):
        for profile in queryset:
            services.profile_verify(profile=profile)
        self.message_user(request, f"{queryset.count()} verificação(ões) na fila.", messages.SUCCESS)


class BotTaskRunInline(admin.TabularInline):
    model = BotTaskRun
    fields = ("status", "job", "queued_at", "started_at", "duration_seconds", "replies_sent", "error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-queued_at",)


@admin.register(BotTask)
class BotTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "task_type", "profile", "status", "interval_seconds", "next_run_at", "last_run_at",
                    "runs", "owner")
    list_filter = ("status", "task_type")
    search_fields = ("id", "profile__name", "owner__username")
    readonly_fields = ("status", "last_run_at", "last_error", "current_job", "runs", "created_at")
    inlines = [BotTaskRunInline]
    actions = ["run_now"]

    @admin.action(description="Executar agora (quando o bot estiver ligado)")
    def run_now(self, request, queryset):
        from django.utils import timezone

        count = queryset.exclude(status__in=BotTask.ACTIVE).update(next_run_at=timezone.now(),
                                                                   status=TaskStatus.PENDING)
        self.message_user(request, f"{count} tarefa(s) marcadas para a próxima rodada do bot.", messages.SUCCESS)


@admin.register(BotTaskRun)
class BotTaskRunAdmin(ReadOnlyModelAdmin):
    list_display = ("task", "status", "queued_at", "duration_seconds", "replies_sent", "error_category")
    list_filter = ("status", "error_category")
    search_fields = ("task__id", "job__id")


@admin.register(WorkerSwitch)
class WorkerSwitchAdmin(ReadOnlyModelAdmin):
    list_display = ("running", "worker_id", "changed_by", "reason", "changed_at")


@admin.register(BotCounter)
class BotCounterAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "labels", "value")
    list_filter = ("name",)


from sellerbot.chatbot import admin as chatbot_admin  # noqa: E402, F401  (registers the chatbot's pages)
