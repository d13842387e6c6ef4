"""The Content-Security-Policy in a real browser: every page of ours — the dashboard, the login,
the admin, the Swagger UI, the error pages — works under it without one violation; the sandbox
portals (imitations of other companies' sites) are left out of it."""

import pytest
import requests

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in every new document before its own scripts (DevTools injection is not subject to the
# page's CSP) and records what the browser refused.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " +
                              event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture
def watched(dashboard):
    script = dashboard.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield dashboard
    dashboard.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def violations(dashboard) -> list[str]:
    return dashboard.driver.execute_script("return window.__cspViolations;")


def policy_of(server, path: str, **kwargs) -> str | None:
    return requests.get(server.url + path, timeout=10, allow_redirects=False, **kwargs).headers.get(
        "Content-Security-Policy")


def directives_of(policy: str) -> dict[str, str]:
    # django-csp writes the directives in no fixed order.
    return dict(item.strip().split(" ", 1) for item in policy.split(";") if item.strip())


def test_the_pages_carry_a_strict_policy(asgi_server):
    for path in ("/accounts/login/", "/docs", "/admin/login/", "/nao-existe/"):
        policy = policy_of(asgi_server, path)
        assert policy is not None, path
        directives = directives_of(policy)
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", policy
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'", policy
        assert "unsafe" not in policy


def test_the_sandbox_portals_are_left_out(asgi_server):
    assert policy_of(asgi_server, "/sandbox/oi/") is None
    assert policy_of(asgi_server, "/sandbox/digitalnet/") is None


def test_the_dashboard_works_under_the_policy(watched, alice, bob):
    job = Job.objects.create(kind="OI", owner=bob, status=Job.Status.RUNNING, progress=40, params={"filtro": "1"})
    watched.sign_in(alice)
    for path in ("/painel/", "/painel/jobs/", f"/painel/jobs/{job.id}/"):
        watched.open(path)
        watched.wait_live()  # live.js ran and its websocket opened
        assert violations(watched) == [], path

    # The progress bar's width is drawn by live.js (no style attribute is allowed in the markup).
    bar = watched.find("#job-progress [data-progress] > span")
    assert bar.get_attribute("style") == "width: 40%;"
    assert bar.size["width"] > 0


def test_the_login_and_the_error_pages_work_under_the_policy(watched):
    watched.open("/accounts/login/")
    assert watched.find("#id_username").is_displayed()
    assert violations(watched) == []
    watched.open("/nao-existe/")
    assert "Página não encontrada" in watched.find("h1").text
    assert violations(watched) == []


def test_the_admin_works_under_the_policy(watched, django_user_model, bob):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-pass")
    job = Job.objects.create(kind="VIVO", owner=bob, status=Job.Status.FAILED, params={"filtro": "1"})
    watched.sign_in(admin)
    for path in ("/admin/", "/admin/jobs/job/", f"/admin/jobs/job/{job.pk}/change/",
                 f"/admin/accounts/user/{bob.pk}/change/", "/admin/auth/group/add/"):
        watched.open(path)
        watched.wait_for("#content")
        assert "administração" in watched.driver.title.lower(), (path, watched.driver.title)
        assert violations(watched) == [], path
    # The admin's own scripts ran: the permissions' filter widget turned into two lists.
    watched.wait_for(".selector .selector-available")
    assert violations(watched) == []


def test_the_swagger_ui_works_under_the_policy(watched):
    watched.open("/docs")
    watched.wait_for(".opblock-summary")  # the UI fetched /openapi.json and drew the operations
    assert violations(watched) == []


def test_the_browsable_api_works_under_the_policy(watched, alice, asgi_server):
    watched.sign_in(alice)
    watched.open("/api/v1/jobs/")
    watched.wait_for(".response-info")
    assert violations(watched) == []
    # DRF's pages have inline styles: they, and only they, may; scripts stay files only.
    policy = policy_of(asgi_server, "/api/v1/jobs/", headers={"Accept": "text/html"},
                       cookies={"sessionid": watched.driver.get_cookie("sessionid")["value"]})
    directives = directives_of(policy)
    assert directives["style-src"] == "'self' 'unsafe-inline'" and directives["script-src"] == "'self'", policy
