"""The rq queues in the admin (django-rq): whoever opens them may delete, requeue or stop any rq
job, so they need a superuser or the `django_rq.admin` permission, not just a staff account.

Both ways in are covered: /admin/django-rq/ (the project's include of django_rq.urls) and
/admin/django_rq/dashboard/ (the page django-rq registers in the admin itself)."""

import pytest
from django.contrib.auth.models import Permission
from django_rq.settings import get_queues_list

from jobs.queues import queue

PREFIXES = ["/admin/django-rq/", "/admin/django_rq/dashboard/"]


@pytest.fixture
def rq_job():
    """A real job waiting on the `default` queue (no worker runs here), removed afterwards."""
    default = queue("default")
    job = default.enqueue("jobs.tasks.this_task_is_never_run")
    yield job
    default.remove(job.id)
    default.connection.delete(job.key)


def queue_index() -> int:
    return get_queues_list().index(next(q for q in get_queues_list() if q["name"] == "default"))


@pytest.fixture
def job_viewer(client, django_user_model):
    """Staff who may look at jobs (jobs.view_job) and nothing else."""
    user = django_user_model.objects.create_user("vera", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(user)
    return client


@pytest.fixture
def queue_manager(client, django_user_model):
    user = django_user_model.objects.create_user("quentin", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="django_rq", codename="admin"))
    client.force_login(user)
    return client


def queue_urls(prefix: str, job_id: str) -> list[str]:
    index = queue_index()
    return [
        prefix,
        f"{prefix}queues/{index}/",
        f"{prefix}queues/{index}/{job_id}/",
        f"{prefix}queues/{index}/{job_id}/delete/",
        f"{prefix}workers/{index}/",
        f"{prefix}stats.json",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", PREFIXES)
def test_staff_without_the_queue_permission_get_403_on_every_queue_page(job_viewer, rq_job, prefix):
    for url in queue_urls(prefix, rq_job.id):
        assert job_viewer.get(url).status_code == 403, url


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", PREFIXES)
def test_staff_without_the_queue_permission_cannot_delete_an_rq_job(job_viewer, rq_job, prefix):
    response = job_viewer.post(f"{prefix}queues/{queue_index()}/{rq_job.id}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert rq_job.id in queue("default").get_job_ids()


@pytest.mark.django_db
def test_staff_without_the_queue_permission_see_no_link_to_the_queues(job_viewer):
    page = job_viewer.get("/admin/").content.decode()

    assert "django_rq" not in page
    assert "Django-RQ" not in page


@pytest.mark.django_db
def test_staff_with_the_queue_permission_see_the_link_and_the_queues(queue_manager, rq_job):
    assert "/admin/django_rq/dashboard/" in queue_manager.get("/admin/").content.decode()
    for prefix in PREFIXES:
        for url in queue_urls(prefix, rq_job.id):
            assert queue_manager.get(url).status_code == 200, url


@pytest.mark.django_db
def test_staff_with_the_queue_permission_can_delete_an_rq_job(queue_manager, rq_job):
    response = queue_manager.post(f"/admin/django-rq/queues/{queue_index()}/{rq_job.id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert rq_job.id not in queue("default").get_job_ids()


@pytest.mark.django_db
def test_a_superuser_opens_the_queues(client, django_user_model, rq_job):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))

    for prefix in PREFIXES:
        assert client.get(f"{prefix}queues/{queue_index()}/{rq_job.id}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", PREFIXES)
def test_visitors_who_are_not_staff_are_sent_to_the_admin_login(client, bob, prefix):
    assert client.get(prefix)["Location"].startswith("/admin/login/")
    client.force_login(bob)
    response = client.get(f"{prefix}queues/{queue_index()}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
