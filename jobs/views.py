"""The staff dashboard: overview, jobs list and its CSV export, job detail, new job, retry (one job
or the ticked ones), all server-rendered.

Live parts (static/js/live.js) follow /ws/notifications and fall back to the JSON and fragment
views below when the socket is refused. Every page needs a staff login; creating and retrying
jobs also needs the `jobs.add_job` permission, and the buttons are shown only to who has it.
"""

import logging
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import exports, selectors
from jobs.forms import JobFilterForm, RetryCredentialsForm
from jobs.kinds import ALL_KINDS, CARRIER_KINDS, SAT_KIND
from jobs.models import Job, JobArtifact
from jobs.permissions import JOB_CREATE_PERMISSION
from jobs.serializers import payload_serializer_for
from jobs.services import lifecycle
from project.clock import iso_local

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
LOG_TAIL = 500
CREATE_PERMISSION = JOB_CREATE_PERMISSION  # the API asks for the same (jobs/permissions.py)
BULK_RETRY_MAX = 100

staff_required = user_passes_test(lambda user: user.is_active and user.is_staff, login_url="accounts:login")


def permission(codename: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(codename):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


@staff_required
@require_GET
def overview(request):
    figures = selectors.overview_get()
    context = {"overview": figures, "chart": _hourly_chart(figures.per_hour), "nav": "overview"}
    if request.GET.get("parte") == "numeros":
        return render(request, "dashboard/_overview_figures.html", context)
    return render(request, "dashboard/overview.html", context)


@staff_required
@require_GET
def job_list(request):
    filters = JobFilterForm(request.GET or None)
    jobs = selectors.job_list(user=request.user, **filters.criteria())
    page = Paginator(jobs.select_related("owner"), PAGE_SIZE).get_page(request.GET.get("pagina"))
    context = {"filters": filters, "page": page, "nav": "jobs", "query": _query_without_page(request)}
    if request.GET.get("parte") == "linhas":
        return render(request, "dashboard/_job_rows.html", context)
    return render(request, "dashboard/job_list.html", context)


@staff_required
@require_GET
def job_export(request):
    """The jobs list, with the page's filters and search, as a CSV file."""
    jobs = selectors.job_list(user=request.user, **JobFilterForm(request.GET or None).criteria())
    response = StreamingHttpResponse(exports.jobs_csv_rows(jobs), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="jobs-{stamp}.csv"'
    return response


@staff_required
@require_GET
def job_row(request, job_id):
    """One row of the jobs list, for a job the list learns of live; 204 if the list's filters
    (passed along in the query string) leave it out."""
    job = _visible_job(request, job_id)
    criteria = JobFilterForm(request.GET or None).criteria()
    matching = selectors.job_list(user=request.user, **criteria).filter(pk=job.pk)
    if not matching.exists():
        return HttpResponse(status=204)
    return render(request, "dashboard/_job_row.html", {"job": job})


@staff_required
@require_GET
def job_detail(request, job_id):
    job = _visible_job(request, job_id)
    if request.GET.get("parte") == "linha-do-tempo":  # redrawn live when the job's status changes
        return render(request, "dashboard/_job_timeline.html", {"job": job})
    logs = list(job.logs.order_by("-timestamp", "-id")[:LOG_TAIL])[::-1]
    artifacts = list(job.artifacts.all())
    return render(request, "dashboard/job_detail.html", {
        "job": job, "logs": logs, "last_log_id": logs[-1].id if logs else 0, "nav": "jobs",
        "artifacts": artifacts, "callbacks": selectors.job_callback_history(job=job),
        "screenshots": [a for a in artifacts if a.name.lower().endswith(".png")],
        "result_file": selectors.job_result_file(job),
        "can_retry": (job.status == Job.Status.FAILED and request.user.has_perm(CREATE_PERMISSION)
                      and not lifecycle.job_retried_by_its_app(job.kind)),
        "retry_needs_credentials": selectors.job_retry_needs_credentials(job),
    })


@staff_required
@require_GET
def job_state(request, job_id):
    """The polling fallback of the detail page: state, and log lines after ?depois=<log id>."""
    job = _visible_job(request, job_id)
    try:
        after = int(request.GET.get("depois", 0))
    except ValueError:
        return JsonResponse({"detail": "depois deve ser o id (inteiro) da última linha de log recebida."}, status=400)
    logs = job.logs.filter(id__gt=after).order_by("timestamp", "id")[:LOG_TAIL]
    return JsonResponse({
        "job_id": str(job.id),
        "data": {"status": job.status, "progress": job.progress, "operadora": job.kind},
        "logs": [{"id": log.id, "level": log.level, "message": log.message, "timestamp": iso_local(log.timestamp)}
                 for log in logs],
    })


@staff_required
@permission(CREATE_PERMISSION)
def job_new(request, kind: str):
    if kind not in ALL_KINDS:
        raise Http404(f"Operadora '{kind}' não encontrada")
    serializer_class = payload_serializer_for(kind)
    errors, values = {}, {}
    if request.method == "POST":
        values = {name: request.POST[name] for name in serializer_class().fields if request.POST.get(name, "") != ""}
        payload = serializer_class(data=values, context={"request": request})
        if payload.is_valid():
            params, secrets, processo_id = payload.split()
            try:
                job = lifecycle.job_create(
                    kind=kind, params=params, secrets=secrets, owner=request.user, processo_id=processo_id,
                )
            except lifecycle.QueueUnavailable:
                logger.error("job not created from the dashboard: the rpa queue is unreachable")
                errors = {"__all__": ["Fila de jobs indisponível no momento; tente novamente em instantes."]}
            else:
                messages.success(request, f"Job {kind} criado.")
                return redirect("dashboard:job-detail", job_id=job.id)
        else:
            errors = {name: [_page_message(name, e) for e in errs] for name, errs in payload.errors.items()}
    values.pop("senha", None)  # a password is never sent back to the browser
    return render(request, "dashboard/job_new.html", {
        "kind": kind, "kinds": ALL_KINDS, "carrier_kinds": CARRIER_KINDS, "sat_kind": SAT_KIND, "nav": "new",
        "fields": _form_fields(serializer_class(), values, errors, choices=_form_choices(kind, request.user)),
        "errors": errors.get("__all__", []),
    }, status=422 if errors else 200)


@staff_required
@permission(CREATE_PERMISSION)
@require_http_methods(["GET", "POST"])
def job_retry(request, job_id):
    """Retry a failed job; one the portal refused to log in first asks for a new password
    (GET shows that form; any other job is retried by POST alone)."""
    source = _visible_job(request, job_id)
    needs_credentials = selectors.job_retry_needs_credentials(source)
    if request.method == "GET":
        if not needs_credentials:
            return HttpResponseNotAllowed(["POST"])
        return _retry_form(request, source, RetryCredentialsForm())
    credentials = RetryCredentialsForm(request.POST) if needs_credentials else None
    if credentials is not None and not credentials.is_valid():
        return _retry_form(request, source, credentials, status=422)
    try:
        job = lifecycle.job_retry(
            job_id=source.id, owner=request.user, credentials=credentials.cleaned_data if credentials else None,
        )
    except (lifecycle.InvalidTransition, lifecycle.CredentialsRequired) as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:job-detail", job_id=source.id)
    except lifecycle.QueueUnavailable:
        messages.error(request, "Fila de jobs indisponível no momento; tente novamente em instantes.")
        return redirect("dashboard:job-detail", job_id=source.id)
    messages.success(request, f"Nova tentativa criada a partir do job {source.id}.")
    return redirect("dashboard:job-detail", job_id=job.id)


@staff_required
@permission(CREATE_PERMISSION)
@require_POST
def job_retry_bulk(request):
    """Retry the failed jobs ticked on the list: the first POST shows what would be retried and
    what would not, and only the confirmed POST (confirmar=1) retries."""
    back = _list_url(request.POST.get("filtros", ""))
    job_ids = _uuids(request.POST.getlist("ids"))
    if job_ids is None:
        messages.error(request, "Seleção inválida: os jobs marcados não são ids de job.")
        return redirect(back)
    if not job_ids:
        messages.error(request, "Marque ao menos um job que falhou para repetir.")
        return redirect(back)
    if len(job_ids) > BULK_RETRY_MAX:
        messages.error(request, f"Marque no máximo {BULK_RETRY_MAX} jobs por vez.")
        return redirect(back)
    selection = selectors.job_retry_selection(user=request.user, job_ids=job_ids)
    if request.POST.get("confirmar") != "1" or not selection.retryable:
        return render(request, "dashboard/job_retry_bulk.html", {
            "selection": selection, "back": back, "filtros": request.POST.get("filtros", ""), "nav": "jobs",
        })
    try:
        retried = lifecycle.job_retry_bulk(job_ids=[job.id for job in selection.retryable], owner=request.user)
    except lifecycle.QueueUnavailable:
        messages.error(request, "Fila de jobs indisponível no momento; parte dos jobs pode não ter sido repetida. "
                                "Confira a lista e tente novamente em instantes.")
        return redirect(back)
    count = len(retried)
    messages.success(request, f"{count} job{pluralize(count)} repetido{pluralize(count)}.")
    return redirect(back)


@staff_required
@require_GET
def job_artifact(request, job_id, artifact_id: int):
    """A failure screenshot or page source: staff only, never from a public media URL."""
    job = _visible_job(request, job_id)
    artifact = get_object_or_404(JobArtifact, pk=artifact_id, job=job)
    inline = artifact.name.lower().endswith(".png")
    return FileResponse(artifact.file.open("rb"), as_attachment=not inline, filename=artifact.name)


@staff_required
@require_GET
def job_result(request, job_id):
    job = _visible_job(request, job_id)
    path = selectors.job_result_file(job)
    if path is None:
        raise Http404("Este job não tem arquivo de resultado.")
    return FileResponse(default_storage.open(path, "rb"), as_attachment=True, filename=path.rsplit("/", 1)[-1])


def _visible_job(request, job_id) -> Job:
    job = selectors.job_list(user=request.user).filter(pk=job_id).select_related("owner").first()
    if job is None:
        raise Http404("Job não encontrado")
    return job


def _retry_form(request, job: Job, form: RetryCredentialsForm, status: int = 200) -> HttpResponse:
    return render(request, "dashboard/job_retry.html", {"job": job, "form": form, "nav": "jobs"}, status=status)


def _uuids(values: list[str]) -> list[UUID] | None:
    try:
        return list(dict.fromkeys(UUID(value) for value in values))
    except ValueError:
        return None


def _list_url(filtros: str) -> str:
    """The jobs list with the filters it was left with (only the list's own parameters)."""
    given = QueryDict(filtros)
    kept = QueryDict(mutable=True)
    for name in (*JobFilterForm.base_fields, "pagina"):
        if given.get(name):
            kept[name] = given[name]
    url = reverse("dashboard:job-list")
    return f"{url}?{kept.urlencode()}" if kept else url


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("pagina", None)
    query.pop("parte", None)
    return query.urlencode()


CHART_HEIGHT = 160
CHART_STATUSES = ("COMPLETED", "FAILED", "RUNNING", "PENDING")  # stacked bottom to top


def _hourly_chart(per_hour: list[dict]) -> dict:
    """Stacked bars (SVG coordinates) of jobs per hour by status."""
    peak = max((bucket["total"] for bucket in per_hour), default=0) or 1
    bars = []
    for index, bucket in enumerate(per_hour):
        top, segments = CHART_HEIGHT, []
        for status in CHART_STATUSES:
            height = round(bucket[status] / peak * (CHART_HEIGHT - 10), 1)
            if height:
                top -= height
                segments.append({"status": status.lower(), "y": top, "height": height, "count": bucket[status]})
        bars.append({"x": index * 30 + 4, "segments": segments, "hour": bucket["hour"], "total": bucket["total"],
                     "label": index % 3 == 0})
    return {"bars": bars, "peak": peak, "height": CHART_HEIGHT, "width": len(per_hour) * 30}


FIELD_LABELS = {
    "login": "Login no portal", "senha": "Senha", "filtro": "Filtro / código do cliente", "cnpj": "CNPJ",
    "processo_id": "Processo (opcional)", "razao": "Razão social", "operadora": "Operadora",
    "nome_filtro": "Nome do filtro", "unidade": "Unidade", "servico": "Serviço", "dados_sat": "Dados SAT",
    "nome_arquivo": "Fatura a enviar", "data_vencimento": "Vencimento",
}
# Hints for people filling the form (the serializers' help texts are written for API clients).
FIELD_HINTS = {
    "data_vencimento": "DD/MM/AAAA, ex.: 15/01/2024.",
    "processo_id": "UUID do processo a avisar no fim, ex.: 3f2b8c1e-0d4a-4b6e-9a51-7c2d9e8f1a20.",
    "nome_arquivo": "Faturas baixadas por jobs concluídos que você pode ver.",
    "operadora": "A operadora da fatura, como o SAT a conhece.",
}


# Messages the API words for the seed's clients (in their English), as people read them here.
PAGE_MESSAGES = {
    ("processo_id", "invalid"): "Informe o UUID do processo (ex.: 3f2b8c1e-0d4a-4b6e-9a51-7c2d9e8f1a20) "
                                "ou deixe em branco.",
}


def _page_message(field: str, error) -> str:
    return PAGE_MESSAGES.get((field, getattr(error, "code", None)), str(error))


def _form_choices(kind: str, user) -> dict[str, list[tuple[str, str]]]:
    """Fields of the new job form that are picked from a list instead of typed."""
    if kind != SAT_KIND:
        return {}
    folder = f"{settings.INVOICE_STORAGE_DIR}/"
    invoices = selectors.invoice_paths_for_user(user=user)
    return {
        "operadora": [(carrier, carrier) for carrier in CARRIER_KINDS],
        "nome_arquivo": [(path, path.removeprefix(folder)) for path in invoices],
    }


def _form_fields(serializer, values: dict, errors: dict, choices: dict) -> list[dict]:
    fields = []
    # The optional processo link goes last, after what every job needs.
    ordered = sorted(serializer.fields.items(), key=lambda item: item[0] == "processo_id")
    for name, field in ordered:
        fields.append({
            "name": name,
            "label": FIELD_LABELS.get(name, name),
            "value": values.get(name, ""),
            "errors": errors.get(name, []),
            "required": field.required,
            "type": "password" if name == "senha" else "text",
            "help": FIELD_HINTS.get(name, str(field.help_text or "")),
            "textarea": name == "dados_sat",
            "choices": choices.get(name),
        })
    return fields
