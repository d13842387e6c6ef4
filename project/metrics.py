"""/metrics for Prometheus, behind a bearer token and/or an address allow-list.

The scrape job sends the token as Prometheus does natively:

    scrape_configs:
      - job_name: console
        authorization: {type: Bearer, credentials_file: /etc/prometheus/console-metrics-token}

With neither METRICS_TOKEN nor METRICS_ALLOWED_ADDRESSES set (development) the page is open;
production settings refuse to start that way.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

BEARER_PREFIX = "bearer "


@require_GET
def metrics_export(request: HttpRequest) -> HttpResponse:
    """The Prometheus text page, for a caller that passes every guard configured."""
    if settings.METRICS_ALLOWED_ADDRESSES and not _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return JsonResponse({"detail": "Este endereço não tem acesso às métricas."}, status=403)
    if settings.METRICS_TOKEN and not _bearer_matches(request.META.get("HTTP_AUTHORIZATION", "")):
        response = JsonResponse({"detail": "Token de métricas ausente ou inválido."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.METRICS_ALLOWED_ADDRESSES)


def _bearer_matches(header: str) -> bool:
    if header[:len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        return False
    given = header[len(BEARER_PREFIX):].strip().encode()
    return hmac.compare_digest(given, settings.METRICS_TOKEN.encode())
