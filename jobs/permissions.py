"""Who may start a job: one rule for the pages, /api/v1 and the seed routes.

Starting or retrying a job needs the `jobs.add_job` permission (superusers have it). Reading is
decided elsewhere: staff see every job, other users their own (jobs/selectors.py), and the
dashboard pages need a staff account besides.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

JOB_CREATE_PERMISSION = "jobs.add_job"
JOB_CREATE_REFUSED = (
    "Você não tem permissão para criar jobs (permissão jobs.add_job). Peça acesso a um administrador."
)


class CanCreateJobs(BasePermission):
    """DRF: reads pass through to the view's own rules; writes need `jobs.add_job`."""

    message = JOB_CREATE_REFUSED

    def has_permission(self, request, view) -> bool:
        # has_perm is False for inactive users, superusers have every permission.
        return request.method in SAFE_METHODS or request.user.has_perm(JOB_CREATE_PERMISSION)
