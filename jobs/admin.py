"""Jobs in the admin: records of what happened, so every page here only shows (no Save or Delete
buttons); starting and retrying jobs is the dashboard's business. Ids are shown short (the first
8 characters, the full one on hover and in the link) so the list fits a 1280 px screen."""

from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django_rq import urls as django_rq_urls
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard

from jobs.forms import ERROR_CATEGORIES
from jobs.models import CallbackAttempt, CallbackDelivery, Job, JobArtifact, JobLog
from project.admin_site import ReadOnlyModelAdmin

SHORT_ID_CHARS = 8


def short_id(value) -> str:
    """A UUID cut to its first characters, with the whole of it on hover."""
    if value is None:
        return "—"
    text = str(value)
    return format_html('<span title="{}">{}</span>', text, text[:SHORT_ID_CHARS])


class JobLogInline(admin.TabularInline):
    model = JobLog
    fields = ("timestamp", "level", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


class JobArtifactInline(admin.TabularInline):
    """Files a job kept (failure screenshot, page source), downloadable by staff only: they may
    show customer data, so they are never served from a public media URL."""

    model = JobArtifact
    fields = ("name", "download", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="arquivo")
    def download(self, obj):
        url = reverse("admin:jobs_job_artifact", args=[obj.job_id, obj.pk])
        return format_html('<a href="{}">baixar</a> ({} bytes)', url, obj.file.size if obj.file else 0)


class CallbackDeliveryInline(admin.TabularInline):
    model = CallbackDelivery
    fields = ("processo_id", "status", "state", "attempts", "next_attempt_at", "delivered_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class ErrorCategoryFilter(admin.SimpleListFilter):
    title = "categoria do erro"
    parameter_name = "error_category"

    def lookups(self, request, model_admin):
        used = Job.objects.exclude(error_category="").order_by().values_list("error_category", flat=True).distinct()
        return sorted(((code, ERROR_CATEGORIES.get(code, code)) for code in used), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(error_category=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(ReadOnlyModelAdmin):
    class Media:
        css = {"all": ["css/admin.css"]}

    list_display = (
        "short_id", "kind", "status_badge", "progress_percent", "owner", "short_processo", "created_at", "completed_at",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", "kind", "created_at", ErrorCategoryFilter)
    search_fields = ("id", "processo_id", "owner__username")
    date_hierarchy = "created_at"
    # `secrets` is not editable and never listed: the admin cannot show it.
    readonly_fields = (
        "id", "kind", "status", "progress", "params", "result", "error", "error_category_label", "processo_id",
        "owner", "created_at", "started_at", "completed_at", "heartbeat_at", "callback_attempts",
    )
    fields = readonly_fields  # and nothing else: not account_key, not the raw error_category
    inlines = [JobLogInline, JobArtifactInline, CallbackDeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secrets").select_related("owner")

    def get_urls(self):
        return [
            path("<uuid:job_id>/artifacts/<int:artifact_id>/", self.admin_site.admin_view(self.artifact_view),
                 name="jobs_job_artifact"),
            *super().get_urls(),
        ]

    def artifact_view(self, request, job_id, artifact_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        artifact = get_object_or_404(JobArtifact, pk=artifact_id, job_id=job_id)
        name = artifact.name.rsplit("/", 1)[-1]
        # An HTML page source is sent as a file, never rendered inside the console's origin.
        return FileResponse(artifact.file.open("rb"), as_attachment=not name.endswith(".png"), filename=name)

    @admin.display(description="id", ordering="id")
    def short_id(self, obj):
        return short_id(obj.id)

    @admin.display(description="processo", ordering="processo_id")
    def short_processo(self, obj):
        return short_id(obj.processo_id)

    @admin.display(description="categoria do erro")
    def error_category_label(self, obj):
        return ERROR_CATEGORIES.get(obj.error_category, obj.error_category)

    @admin.display(description="progresso", ordering="progress")
    def progress_percent(self, obj):
        return f"{obj.progress}%"

    @admin.display(description="tentativas de entrega ao processo")
    def callback_attempts(self, obj):
        attempts = CallbackAttempt.objects.filter(delivery__job_ref=obj.id).order_by("attempted_at", "id")
        if not attempts:
            return "—"
        rows = format_html_join(
            "", "<tr><td>#{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            ((a.attempt, date_format(timezone.localtime(a.attempted_at), "DATETIME_FORMAT"), a.method, a.url,
              a.http_status or a.error)
             for a in attempts),
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        # Colours come from static/css/admin.css: the Content-Security-Policy allows no style attribute.
        return format_html('<strong class="job-status job-status-{}">{}</strong>', obj.status.lower(),
                           obj.get_status_display())


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    fields = ("attempt", "attempted_at", "method", "url", "http_status", "error", "ok")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("short_processo", "short_job", "status", "state", "attempts", "next_attempt_at", "delivered_at")
    list_display_links = ("short_processo",)
    list_filter = ("state", "status")
    search_fields = ("processo_id", "job_ref")
    readonly_fields = ("job", "job_ref", "processo_id", "status", "state", "attempts", "next_attempt_at",
                       "delivered_at", "created_at")
    inlines = [CallbackAttemptInline]
    actions = ["retry_now"]

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("jobs.change_callbackdelivery")

    @admin.display(description="processo", ordering="processo_id")
    def short_processo(self, obj):
        return short_id(obj.processo_id)

    @admin.display(description="job", ordering="job_ref")
    def short_job(self, obj):
        return short_id(obj.job_ref)

    @admin.action(description="Tentar entregar agora", permissions=["retry"])
    def retry_now(self, request, queryset):
        count = queryset.filter(state=CallbackDelivery.State.PENDING).update(next_attempt_at=timezone.now())
        self.message_user(request, f"{count} entrega(s) serão tentadas na próxima passagem (até 30 s).")


# --- The rq queues (django-rq) --------------------------------------------------------------
# Whoever opens the queues may delete, requeue or stop any rq job, which none of the `jobs.*`
# permissions covers: they need a superuser or django-rq's own permission, `django_rq.admin`
# ("Access admin page"). The same permission decides whether the admin index links to them.
QUEUES_PERMISSION = "django_rq.admin"


def queue_urlpatterns() -> list[URLPattern]:
    """django-rq's views for the project's /admin/django-rq/ include, each behind the gate."""
    return [_gated(pattern) for pattern in django_rq_urls.urlpatterns]


def queues_permission_required(view):
    """Send visitors who are not active staff to the admin login; refuse staff without the
    queue permission with 403, whatever the method."""

    @wraps(view)
    def gated(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not user.has_perm(QUEUES_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return gated


class GatedQueueAdmin(QueueAdmin):
    """django-rq's own admin entry (/admin/django_rq/dashboard/…), whose views only ask for a
    staff account, behind the same gate as the include."""

    def get_urls(self):
        return [_gated(pattern) for pattern in super().get_urls()]


def _gated(pattern: URLPattern) -> URLPattern:
    return URLPattern(pattern.pattern, queues_permission_required(pattern.callback), pattern.default_args,
                      pattern.name)


if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
    admin.site.register(Dashboard, GatedQueueAdmin)
