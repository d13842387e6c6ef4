"""Browsers on other machines: rq workers drive Chromium on the nodes of a real Selenium Grid.

A hub and two nodes (Java, Debian's chromium and chromedriver) on this machine stand for the
browser machines; the workers get only SELENIUM_REMOTE_URL. The sandbox portals are served by
the test's live server, which the nodes reach as a real portal would be reached.
"""

import os
import re

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.models import Job, JobStatus
from tests.carriers.conftest import browser_processes
from tests.carriers.grid import INSTALL_COMMAND, SeleniumGrid, grid_missing, selenium_server_jar
from tests.carriers.helpers import DEMO
from tests.carriers.test_sat import assert_delivered, invoice_in_storage, run_sat_job
from tests.conftest import WorkerProcesses
from tests.jobs.helpers import wait_for, wait_until_finished

pytestmark = [pytest.mark.grid, pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIVE_JOBS = (
    ("OI", DEMO),
    ("VIVO", DEMO),
    ("EMBRATEL", DEMO),
    ("DIGITALNET", DEMO),
    ("OI", {"login": "financeiro@lojasoi.com.br", "senha": "oi-2024", "filtro": "40020001",
            "cnpj": "11.222.333/0001-81"}),
)
NODE_LOG = re.compile(r"Navegador remoto no nó (\S+) do Selenium Grid")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    missing = grid_missing()
    if missing:
        message = f"no Selenium Grid on this machine: missing {missing}; install with `{INSTALL_COMMAND}`"
        if os.environ.get("REQUIRE_SELENIUM_GRID") == "1":
            pytest.fail(message)
        pytest.skip(message)
    grid = SeleniumGrid(selenium_server_jar(), tmp_path_factory.mktemp("grid"), nodes=2)
    try:
        grid.start()
        yield grid
    finally:
        grid.stop()


@pytest.fixture(scope="module")
def grid_workers(carrier_env, grid):
    """Two workers whose browsers run on the Grid; a portal wait long enough to stop a node in."""
    workers = WorkerProcesses({**carrier_env, "SELENIUM_REMOTE_URL": grid.url, "BROWSER_WAIT_SECONDS": "30"})
    workers.start(2)
    yield workers
    workers.stop_all()


@pytest.fixture
def two_nodes(grid, grid_workers) -> SeleniumGrid:
    """The Grid with both its nodes up (a test before may have lost one)."""
    grid.start_missing_nodes()
    return grid


def test_five_carrier_jobs_run_on_both_nodes_and_leave_no_session(two_nodes, alice_api):
    ids = [alice_api.post(f"/executar/{carrier}", payload, format="json").json()["job_id"]
           for carrier, payload in FIVE_JOBS]
    jobs = [wait_until_finished(job_id, timeout=120) for job_id in ids]

    assert [job.status for job in jobs] == [JobStatus.COMPLETED] * 5, [(j.kind, j.error) for j in jobs]
    # The file came back from the node that downloaded it, and is the invoice.
    for job in jobs:
        with default_storage.open(job.result, "rb") as stored:
            assert stored.read().startswith(b"%PDF-")
    nodes = [node_of(job) for job in jobs]
    assert set(nodes) == set(two_nodes.node_urls), nodes
    wait_for(lambda: two_nodes.sessions() == [], timeout=10, message="the hub to list no session")
    wait_for(lambda: browser_processes() == [], timeout=10, message="every chromium on the nodes to end")


def test_a_sat_upload_sends_the_invoice_from_the_worker_to_the_node(two_nodes, alice_api):
    # The file is on the worker's side; the browser that puts it in the form is on a node.
    name = invoice_in_storage().rsplit("/", 1)[1]

    job, status = run_sat_job(alice_api, nome_arquivo=name)

    assert_delivered(status, name)
    assert node_of(job) in two_nodes.node_urls


def test_a_node_lost_mid_job_fails_that_job_and_the_hub_keeps_no_session(two_nodes, alice_api):
    # 99999999: EMBRATEL's search never finishes, so this job is certainly mid-flow when its node dies.
    doomed = alice_api.post("/executar/EMBRATEL", {**DEMO, "filtro": "99999999"}, format="json").json()["job_id"]
    wait_for(lambda: logged(doomed, "Pesquisando faturas"), timeout=60, message="the EMBRATEL search to start")
    lost_node = node_of(Job.objects.get(pk=doomed))

    other = alice_api.post("/executar/VIVO", DEMO, format="json").json()["job_id"]
    wait_for(lambda: logged(other, "Navegador remoto no nó"), timeout=60, message="the VIVO job's browser")
    surviving_node = node_of(Job.objects.get(pk=other))
    assert surviving_node != lost_node

    two_nodes.kill_node(lost_node)
    killed_at = timezone.now()

    doomed_job = wait_until_finished(doomed, timeout=60)
    other_job = wait_until_finished(other, timeout=60)
    assert doomed_job.status == JobStatus.FAILED
    assert doomed_job.error_category == "browser"
    assert doomed_job.error.startswith(
        f"O navegador remoto foi perdido no meio da automação: o nó {lost_node} do Selenium Grid deixou de "
        "responder ("
    ), doomed_job.error
    assert doomed_job.error.endswith("). Execute o job de novo.")
    # At the portal's next poll, not when its 30 s wait runs out.
    assert (doomed_job.completed_at - killed_at).total_seconds() < 10
    assert other_job.status == JobStatus.COMPLETED, other_job.error

    # The hub forgets the dead node's session only when it drops the node: at a purge pass (every
    # 30 s) once the node has been DOWN for four heartbeats.
    wait_for(lambda: two_nodes.sessions() == [], timeout=90, message=f"the hub to drop the session on {lost_node}")
    assert [(node["uri"], node["status"]) for node in two_nodes.nodes()] == [(surviving_node, "UP")]
    wait_for(lambda: browser_processes() == [], timeout=10, message="every chromium on the nodes to end")


def node_of(job: Job) -> str:
    """The Grid node the job's log says its browser ran on."""
    found = [m.group(1) for log in job.logs.all() if (m := NODE_LOG.search(log.message))]
    assert len(found) == 1, [log.message for log in job.logs.all()]
    return found[0]


def logged(job_id, text: str) -> bool:
    return Job.objects.get(pk=job_id).logs.filter(message__contains=text).exists()
