"""/metrics: open in development; behind a bearer token and/or an address allow-list when set."""

import ipaddress

import pytest
from django.test import Client

TOKEN = "metrics-token-0123456789abcdef"


def scrape(authorization: str | None = None, address: str = "127.0.0.1"):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return Client().get("/metrics", REMOTE_ADDR=address, **headers)


def assert_metrics_page(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert b"django_http_requests_before_middlewares_total" in response.content


@pytest.mark.django_db
def test_without_a_token_or_allow_list_the_page_is_open(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = "", []
    assert_metrics_page(scrape())


@pytest.mark.django_db
class TestBearerToken:
    @pytest.fixture(autouse=True)
    def _token(self, settings):
        settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = TOKEN, []

    @pytest.mark.parametrize("authorization", [
        None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN,
    ])
    def test_a_scrape_without_the_token_gets_401(self, authorization):
        response = scrape(authorization)

        assert response.status_code == 401
        assert response.json() == {"detail": "Token de métricas ausente ou inválido."}
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"django_http" not in response.content

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    def test_the_token_as_prometheus_sends_it_opens_the_page(self, scheme):
        assert_metrics_page(scrape(f"{scheme} {TOKEN}"))


@pytest.mark.django_db
class TestAllowedAddresses:
    def test_an_address_outside_the_list_gets_403(self, settings):
        settings.METRICS_TOKEN = ""
        settings.METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("10.0.0.0/8")]

        response = scrape(address="192.168.1.5")

        assert response.status_code == 403
        assert response.json() == {"detail": "Este endereço não tem acesso às métricas."}

    def test_an_address_in_the_list_opens_the_page(self, settings):
        settings.METRICS_TOKEN = ""
        settings.METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")]

        assert_metrics_page(scrape(address="10.1.2.3"))
        assert_metrics_page(scrape(address="::1"))

    def test_with_both_set_both_are_required(self, settings):
        settings.METRICS_TOKEN = TOKEN
        settings.METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("10.0.0.0/8")]

        assert scrape(f"Bearer {TOKEN}", address="192.168.1.5").status_code == 403
        assert scrape(address="10.1.2.3").status_code == 401
        assert_metrics_page(scrape(f"Bearer {TOKEN}", address="10.1.2.3"))
