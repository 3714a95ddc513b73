"""Cross-service fixtures: the whole platform (every service and the gateway) running for
real on the embedded PostgreSQL and NATS, in a background thread with its own event loop,
so tests talk to it over real HTTP exactly as the CLI and the browser do."""

import asyncio
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import uvicorn

from pyk8s_auth.main import MIGRATIONS as AUTH_MIGRATIONS
from pyk8s_auth.main import start as start_auth
from pyk8s_auth.settings import AuthSettings
from pyk8s_gateway.main import create_app
from pyk8s_gateway.settings import GatewaySettings
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedNatsCluster, free_port
from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.drivers.kwok import installed_versions
from pyk8s_provisioner.main import MIGRATIONS as PROVISIONER_MIGRATIONS
from pyk8s_provisioner.main import start as start_provisioner
from pyk8s_provisioner.settings import ProvisionerSettings
from pyk8s_teams.main import MIGRATIONS as TEAMS_MIGRATIONS
from pyk8s_teams.main import start as start_teams
from pyk8s_teams.settings import TeamsSettings
from pyk8s_terminal.main import MIGRATIONS as TERMINAL_MIGRATIONS
from pyk8s_terminal.main import start as start_terminal
from pyk8s_terminal.settings import TerminalSettings


@dataclass
class ServiceSpec:
    name: str
    start: Callable[[Any], Any]
    settings: type
    migrations: Any


# The provisioner drives the kind/k3d test doubles (real Docker containers, no registry), and
# kwok for real from what scripts/install-k8s-tools.sh built into .tools, when it has.
PROVISIONER_DOUBLES = Path(__file__).parent / "services/provisioner/tests/doubles"
TOOLS = Path(__file__).parent / ".tools"
KWOK_SETTINGS: dict[str, Any] = {
    "kwokctl_bin": str(TOOLS / "bin" / "kwokctl"),
    "kwok_etcd_bin": str(TOOLS / "bin" / "etcd"),
    "kwok_controller_bin": str(TOOLS / "bin" / "kwok"),
    "kwok_versions_dir": TOOLS / "kubernetes",
}
ProvisionerTestSettings = partial(
    ProvisionerSettings,
    kind_bin=str(PROVISIONER_DOUBLES / "kind_double"),
    k3d_bin=str(PROVISIONER_DOUBLES / "k3d_double"),
    **KWOK_SETTINGS,
)


def require_kwok() -> None:
    """Skips the test unless kwokctl, etcd, kwok and a Kubernetes version are in .tools."""
    binaries = ("kwokctl_bin", "kwok_etcd_bin", "kwok_controller_bin")
    installed = all(os.access(KWOK_SETTINGS[binary], os.X_OK) for binary in binaries)
    if not installed or not installed_versions(KWOK_SETTINGS["kwok_versions_dir"]):
        pytest.skip("kwok is not installed: run scripts/install-k8s-tools.sh")


def kwok_processes(kwok_workdir: Path, runtime: str) -> list[psutil.Process]:
    """The running processes of a kwok cluster: those started from its binaries."""
    prefix = str(kwok_workdir / "clusters" / runtime / "bin") + os.sep
    found = []
    for process in psutil.process_iter(["cmdline"]):
        argv = process.info["cmdline"] or [""]
        if argv[0].startswith(prefix) and process.status() != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def remove_kwok(kwok_workdir: Path, runtime: str) -> None:
    """Whatever a test left of a kwok cluster: its processes, its files, its shell container."""
    processes = kwok_processes(kwok_workdir, runtime)
    for process in processes:
        process.kill()
    psutil.wait_procs(processes, timeout=10)
    shutil.rmtree(kwok_workdir / "clusters" / runtime, ignore_errors=True)
    shell = f"pyk8s-kwok-{runtime}"
    subprocess.run(["docker", "rm", "-f", shell], capture_output=True, check=False)


SERVICES = [
    ServiceSpec("auth", start_auth, AuthSettings, AUTH_MIGRATIONS),
    ServiceSpec("teams", start_teams, TeamsSettings, TEAMS_MIGRATIONS),
    ServiceSpec("provisioner", start_provisioner, ProvisionerTestSettings, PROVISIONER_MIGRATIONS),
    ServiceSpec("terminal", start_terminal, TerminalSettings, TERMINAL_MIGRATIONS),
]


@dataclass
class Platform:
    url: str
    # One server, or a cluster (tests/faults/test_nats_node_loss.py): both give `url` (every
    # node's, for a cluster), `seeds` and `connect(identity)`.
    nats: EmbeddedNats | EmbeddedNatsCluster
    database_urls: dict[str, str]
    loop: asyncio.AbstractEventLoop
    runtimes: dict[str, Any] = field(default_factory=dict)

    @property
    def nats_url(self) -> str:
        return self.nats.url

    def nats_options(self, identity: str) -> dict[str, Any]:
        """Settings that connect a component as `identity`."""
        return {"nats_url": self.nats.url, "nats_credentials": str(self.nats.seeds[identity])}

    def run(self, coro, timeout: float = 30) -> Any:
        """Run a coroutine on the platform's loop from the test thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class PlatformThread(threading.Thread):
    def __init__(
        self,
        nats: EmbeddedNats | EmbeddedNatsCluster,
        database_urls: dict[str, str],
        overrides: dict[str, dict[str, Any]],
    ) -> None:
        super().__init__(daemon=True, name="platform")
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        scheme = "https" if overrides.get("gateway", {}).get("tls_cert_file") else "http"
        url = f"{scheme}://127.0.0.1:{self.port}"
        self.platform = Platform(url, nats, database_urls, self.loop)
        self.overrides = overrides
        self.error: BaseException | None = None
        self.server: uvicorn.Server | None = None
        self._stopped = threading.Event()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:  # surfaced to the test by start()
            self.error = error
        finally:
            self._stopped.set()

    async def _main(self) -> None:
        for spec in SERVICES:
            settings = spec.settings(
                environment="test",
                **self.platform.nats_options(spec.name),
                database_url=self.platform.database_urls[spec.name],
                **self.overrides.get(spec.name, {}),
            )
            self.platform.runtimes[spec.name] = await spec.start(settings)
        gateway_settings = GatewaySettings(
            environment="test",
            **self.platform.nats_options("gateway"),
            port=self.port,
            required_services=[spec.name for spec in SERVICES],
            **{"shutdown_grace_seconds": 0.5, **self.overrides.get("gateway", {})},
        )
        config = uvicorn.Config(
            create_app(gateway_settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            # As main() runs it: forwarded headers are the gateway's to judge, not uvicorn's.
            proxy_headers=False,
            timeout_graceful_shutdown=gateway_settings.shutdown_grace_seconds,
            **gateway_settings.uvicorn_options(),
        )
        self.server = uvicorn.Server(config)
        try:
            await self.server.serve()
        finally:
            for runtime in reversed(list(self.platform.runtimes.values())):
                await runtime.stop()

    def start_and_wait(self) -> Platform:
        self.start()
        wait_until(lambda: self.error or (self.server and self.server.started), timeout=60)
        if self.error:
            raise self.error
        return self.platform

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
        self._stopped.wait(30)


@pytest.fixture
def platform_overrides() -> dict[str, dict[str, Any]]:
    """Override per component settings: {"auth": {...}, "gateway": {...}}."""
    return {}


@pytest.fixture
def platform(nats_server, make_database, platform_overrides, tmp_path) -> Iterator[Platform]:
    urls = {spec.name: make_database(spec.name, spec.migrations) for spec in SERVICES}
    # Each platform's provisioner keeps its CLIs' files, kwok's clusters among them, apart.
    work_dir = {"work_dir": tmp_path / "provisioner"}
    overrides = {
        **platform_overrides,
        "provisioner": {**work_dir, **platform_overrides.get("provisioner", {})},
    }
    thread = PlatformThread(nats_server, urls, overrides)
    try:
        yield thread.start_and_wait()
    finally:
        thread.stop()


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30) as client:
        yield client


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Person:
    """A signed-up user with a logged-in access token."""

    def __init__(
        self,
        api: httpx.Client,
        username: str | None = None,
        password: str = "correct horse battery",
    ) -> None:
        self.api = api
        self.username = username or unique()
        self.email = f"{self.username}@example.com"
        self.password = password
        signup = api.post(
            "/auth/signup",
            json={"username": self.username, "email": self.email, "password": password},
        )
        assert signup.status_code == 201, signup.text
        self.id = signup.json()["id"]
        tokens = api.post("/auth/login", json={"login": self.username, "password": password})
        assert tokens.status_code == 200, tokens.text
        self.tokens = tokens.json()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def get(self, path: str, **kw) -> httpx.Response:
        return self.api.get(path, headers=self.headers, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.api.post(path, headers=self.headers, **kw)

    def patch(self, path: str, **kw) -> httpx.Response:
        return self.api.patch(path, headers=self.headers, **kw)

    def delete(self, path: str, **kw) -> httpx.Response:
        return self.api.delete(path, headers=self.headers, **kw)


@pytest.fixture
def person(api: httpx.Client) -> Callable[..., Person]:
    return lambda username=None: Person(api, username)


# teams: helpers shared by the teams, invitations and RBAC tests
def _make_team(owner: Person, name: str | None = None) -> str:
    created = owner.post("/teams", json={"name": name or unique("team-")})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _join_team(inviter: Person, team_id: str, person: Person, role: str) -> str:
    """`inviter` invites `person` by username and `person` accepts; returns the invitation id."""
    invited = inviter.post(
        f"/teams/{team_id}/invitations", json={"login": person.username, "role": role}
    )
    assert invited.status_code == 201, invited.text
    accepted = person.post(f"/invitations/{invited.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    return invited.json()["id"]


class ProvisionerDouble:
    """Stands in for the provisioner on PROVISIONER_TEAM_COUNT: answers each team's cluster
    count from `counts` (0 when absent), on the platform's NATS, as the provisioner would."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.counts: dict[str, int] = {}
        self.asked: list[str] = []
        self._nc = None

    async def _start(self) -> None:
        from pyk8s_contracts import subjects
        from pyk8s_contracts.teams import TeamClusterCountReply, TeamClusterCountRequest

        async def answer(msg) -> None:
            team_id = str(TeamClusterCountRequest.model_validate_json(msg.data).team_id)
            self.asked.append(team_id)
            reply = TeamClusterCountReply(count=self.counts.get(team_id, 0))
            await msg.respond(reply.model_dump_json().encode())

        self._nc = await self.platform.nats.connect("provisioner", name="provisioner-double")
        await self._nc.subscribe(subjects.PROVISIONER_TEAM_COUNT, queue="provisioner", cb=answer)
        await self._nc.flush()

    def start(self) -> "ProvisionerDouble":
        self.platform.run(self._start())
        return self

    def stop(self) -> None:
        if self._nc is not None:
            self.platform.run(self._nc.close())
            self._nc = None


@pytest.fixture
def make_team() -> Callable[..., str]:
    """`make_team(owner, name=None)` creates a team owned by `owner`; returns its id."""
    return _make_team


@pytest.fixture
def join_team() -> Callable[..., str]:
    """`join_team(inviter, team_id, person, role)`: invited by username, accepted."""
    return _join_team


@pytest.fixture
def without_provisioner(platform: Platform) -> Platform:
    """Stops the platform's real provisioner, so nothing answers its subjects."""
    real = platform.runtimes.pop("provisioner", None)
    if real is not None:
        platform.run(real.stop())
    return platform


@pytest.fixture
def provisioner_double(without_provisioner: Platform) -> Iterator[ProvisionerDouble]:
    """The double alone answers PROVISIONER_TEAM_COUNT, with the counts a test chooses."""
    double = ProvisionerDouble(without_provisioner).start()
    yield double
    double.stop()


NODE_LABELS = {"kind": "io.x-k8s.kind.cluster", "k3d": "k3d.cluster"}


@pytest.fixture
def remove_runtime_clusters(platform: Platform) -> Iterator[None]:
    """After the test, remove the Docker containers (the kwok processes) of every cluster it
    made, once no create is still running (it would add some after the clean-up)."""
    from sqlalchemy import select

    from pyk8s_provisioner.models import Cluster

    yield

    async def load() -> list[Cluster]:
        async with platform.runtimes["provisioner"].db.session() as session:
            return list((await session.scalars(select(Cluster))).all())

    wait_until(
        lambda: all(c.status not in ("pending", "provisioning") for c in platform.run(load())),
        timeout=60,
        interval=0.1,
    )
    kwok_workdir = platform.runtimes["provisioner"].settings.work_dir / "kwok"
    for cluster in platform.run(load()):
        if cluster.provider == "kwok":
            remove_kwok(kwok_workdir, cluster.runtime_name)
            continue
        label = f"label={NODE_LABELS[cluster.provider]}={cluster.runtime_name}"
        found = subprocess.run(
            ["docker", "ps", "-aq", "--filter", label], capture_output=True, check=False, text=True
        ).stdout.split()
        if found:
            subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=False)


class AuthKeysDouble:
    """Stands in for the auth service's signing key: answers `auth.jwks` as the auth identity
    and signs access tokens with the claims the auth service puts in them, so a test can make
    requests on behalf of any user straight to a service, as the gateway would."""

    issuer = "pyk8s-test"
    audience = "pyk8s-test"

    def __init__(self) -> None:
        from pyk8s_auth.keys import SigningKey

        self.key = SigningKey.generate()
        self._nc = None

    def assertion(self, user_id: uuid.UUID, **claims: Any) -> str:
        import time

        from jose import jwt

        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            **claims,
        }
        return jwt.encode(
            body, self.key.private_pem, algorithm="ES256", headers={"kid": self.key.kid}
        )

    async def start(self, nats_server: EmbeddedNats) -> "AuthKeysDouble":
        from pyk8s_contracts import subjects
        from pyk8s_contracts.auth import Jwks

        jwks = Jwks(keys=[self.key.jwk()], issuer=self.issuer, audience=self.audience)

        async def answer(msg) -> None:
            await msg.respond(jwks.model_dump_json().encode())

        self._nc = await nats_server.connect("auth", name="auth-keys-double")
        await self._nc.subscribe(subjects.AUTH_JWKS, cb=answer)
        await self._nc.flush()
        return self

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.close()


@pytest.fixture
def foreign_keys() -> AuthKeysDouble:
    """Signs well-formed access tokens with a key no auth service ever published."""
    return AuthKeysDouble()


@pytest.fixture
async def auth_keys(nats_server: EmbeddedNats):
    """`auth_keys.assertion(user_id)`: an access token services accept for that user."""
    keys = await AuthKeysDouble().start(nats_server)
    yield keys
    await keys.stop()


class GatewayClient:
    """Asks services straight over NATS as the gateway does: with the gateway's identity and,
    for requests on behalf of a person, that person's access token."""

    def __init__(self, nc, keys: AuthKeysDouble) -> None:
        self.nc = nc
        self.keys = keys

    async def ask(self, subject: str, payload, reply, **options):
        from pyk8s_contracts.common import ByUser
        from pyk8s_kit.bus import request

        if isinstance(payload, ByUser):
            options.setdefault("actor", self.keys.assertion(payload.actor_id))
        return await request(self.nc, subject, payload, reply, **options)

    async def close(self) -> None:
        await self.nc.close()


@pytest.fixture
async def gateway_client(nats_server: EmbeddedNats, auth_keys: AuthKeysDouble):
    client = GatewayClient(await nats_server.connect("gateway"), auth_keys)
    yield client
    await client.close()
