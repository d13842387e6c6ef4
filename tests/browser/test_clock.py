"""One clock on the page: a log line that arrives live shows the same time zone (TIME_ZONE) as the
lines the server drew, even in a browser whose computer is on another continent."""

import pytest
from django.utils import timezone

from jobs.models import Job, JobLog
from jobs.services import lifecycle
from project import live

pytestmark = pytest.mark.django_db(transaction=True)

# Twelve hours from São Paulo: a line drawn on the browser's clock cannot pass for the server's.
BROWSER_TIME_ZONE = "Asia/Tokyo"


@pytest.fixture
def tokyo_browser(dashboard):
    dashboard.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_TIME_ZONE})
    yield dashboard
    dashboard.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def sao_paulo_clock(entry: JobLog) -> str:
    return timezone.localtime(JobLog.objects.get(pk=entry.pk).timestamp).strftime("%H:%M:%S")


def test_a_live_log_line_and_a_server_drawn_one_show_the_same_clock(tokyo_browser, alice):
    job = Job.objects.create(kind="OI", owner=alice, status=Job.Status.RUNNING, params={"filtro": "1"})
    drawn = lifecycle.job_log(job_id=job.id, level="INFO", message="Linha desenhada pelo servidor")

    tokyo_browser.sign_in(alice).open(f"/painel/jobs/{job.id}/")
    tokyo_browser.wait_live()
    assert tokyo_browser.driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone") == (
        BROWSER_TIME_ZONE
    )
    arrived = lifecycle.job_log(job_id=job.id, level="INFO", message="Linha que chegou ao vivo")
    live.flush()
    tokyo_browser.wait_text("#log-lines", "Linha que chegou ao vivo")

    drawn_time = tokyo_browser.find(f'#log-lines [data-log-id="{drawn.pk}"] time').text
    live_time = tokyo_browser.find(f'#log-lines [data-log-id="{arrived.pk}"] time').text
    assert drawn_time == sao_paulo_clock(drawn)
    assert live_time == sao_paulo_clock(arrived)
