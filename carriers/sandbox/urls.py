"""/sandbox/<carrier>/…: imitations of the carrier portals and of SAT (SANDBOX_PORTALS=1).

Each portal module lists its own routes (prefixed with its name) in `urlpatterns`.
"""

from carriers.sandbox import digitalnet, embratel, oi, sat, vivo

app_name = "sandbox"

urlpatterns = [
    *oi.urlpatterns,
    *vivo.urlpatterns,
    *embratel.urlpatterns,
    *digitalnet.urlpatterns,
    *sat.urlpatterns,
]
