"""rq entry points of the carriers app."""

from carriers.sat_api import SatApiClient


def sat_token_refresh_task() -> None:
    """Every 30 min (seed 002): renew the SAT API token if the API is in use and the token near expiry."""
    SatApiClient().refresh_if_due()
