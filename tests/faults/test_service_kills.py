"""The auth and the teams service killed with SIGKILL in the middle of a burst of requests,
then started again: the API answers 503 with Retry-After while the service is gone (never
500), serves again after the restart, nothing is half written, and every team event is on
PYK8S_EVENTS exactly once."""

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from conftest import Person
from pyk8s_auth.main import MIGRATIONS as AUTH_MIGRATIONS
from pyk8s_contracts.auth import PASSWORD_REQUEST_TIMEOUT_SECONDS
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from pyk8s_kit.testing import stream_events
from pyk8s_teams.main import MIGRATIONS as TEAMS_MIGRATIONS

from .conftest import Component, assert_once_by_id, component_env, wait_ready

BURST_THREADS = 4
# Each fault is bounded: the kill is noticed, the restart serves, within these.
DOWN_SECONDS = 15.0
RECOVERY_SECONDS = 30.0
PW = "correct horse battery"


@dataclass
class Attempt:
    """One request of the burst: what it was (`kind`) and about (`key`), its answer and
    when it ran."""

    kind: str
    key: str
    status: int
    started: float
    ended: float
    retry_after: str | None = None

    def in_flight_at(self, moment: float) -> bool:
        return self.started < moment < self.ended


@dataclass
class Burst:
    """Runs `operation(i)` for i = 0, 1, ... in a few threads until stopped; each call
    returns the attempts it made."""

    operation: Callable[[int], list[Attempt]]
    attempts: list[Attempt] = field(default_factory=list)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _worker(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                index, self._next = self._next, self._next + 1
            made = self.operation(index)
            with self._lock:
                self.attempts.extend(made)

    def first(self, status: int, after: float, timeout: float) -> Attempt:
        """The first attempt answered `status` that started after `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [a for a in self.attempts if a.status == status and a.started >= after]
            if found:
                return min(found, key=lambda a: a.ended)
            self._stop.wait(0.02)
        raise AssertionError(f"no {status} within {timeout}s: {self.statuses()}")

    def statuses(self) -> dict[int, int]:
        with self._lock:
            statuses = [a.status for a in self.attempts]
        return {status: statuses.count(status) for status in set(statuses)}

    def of(self, kind: str) -> list[Attempt]:
        return [a for a in self.attempts if a.kind == kind]

    @contextmanager
    def running(self) -> Iterator["Burst"]:
        with ThreadPoolExecutor(BURST_THREADS) as pool:
            workers = [pool.submit(self._worker) for _ in range(BURST_THREADS)]
            try:
                yield self
            finally:
                self._stop.set()
                for worker in workers:
                    worker.result(timeout=30)


def call(kind: str, key: str, send: Callable[[], httpx.Response]) -> tuple[Attempt, httpx.Response]:
    started = time.monotonic()
    answer = send()
    attempt = Attempt(kind, key, answer.status_code, started, time.monotonic())
    attempt.retry_after = answer.headers.get("retry-after")
    return attempt, answer


@dataclass
class Processes:
    api: httpx.Client
    nats: EmbeddedNats
    pg: EmbeddedPostgres
    databases: dict[str, str]
    services: dict[str, Component]
    probes: dict[str, str]

    def column(self, service: str, sql: str) -> set[str]:
        """The values of a one-column query in `service`'s database, read directly."""
        return set(self.pg.psql(sql, database=self.databases[service]).split())


@pytest.fixture
def processes(nats_server, embedded_pg, make_database, components) -> Iterator[Processes]:
    """Auth, teams and the gateway, each its own process on the test's NATS."""
    migrations = {"auth": AUTH_MIGRATIONS, "teams": TEAMS_MIGRATIONS}
    services, probes, databases = {}, {}, {}
    for name, migrations_dir in migrations.items():
        port = free_port()
        database_url = make_database(name, migrations_dir)
        databases[name] = database_url.rsplit("/", 1)[1]
        env = component_env(name, nats_server, database_url=database_url, health_port=str(port))
        services[name] = components(name, env).start()
        probes[name] = f"http://127.0.0.1:{port}"
    port = free_port()
    gateway_env = component_env(
        "gateway", nats_server, port=str(port), required_services='["auth", "teams"]'
    )
    gateway = components("gateway", gateway_env).start()
    gateway_url = f"http://127.0.0.1:{port}"
    for name, component in services.items():
        wait_ready(component, probes[name])
    wait_ready(gateway, gateway_url)
    with httpx.Client(base_url=f"{gateway_url}/api/v1", timeout=30) as api:
        yield Processes(api, nats_server, embedded_pg, databases, services, probes)


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "service_unavailable"
    assert int(answer.headers["retry-after"]) >= 1


def kill_and_restart(
    platform: Processes,
    name: str,
    burst: Burst,
    fresh: Callable[[], httpx.Response],
    request_timeout: float = 0.0,
) -> dict[str, float]:
    """Kills service `name` once the burst succeeds, checks that a `fresh` request is a 503,
    restarts it once the burst has met 503s too; returns the figures. `request_timeout`: how
    much longer than the usual the gateway waits for this service's answers."""
    service = platform.services[name]
    burst.first(201, after=0, timeout=RECOVERY_SECONDS)
    killed = service.kill()
    answer, fresh_seconds = timed(fresh)
    assert_unavailable(answer)
    # Requests the dead service had taken wait out the gateway's request timeout.
    in_flight = burst.first(503, after=0, timeout=DOWN_SECONDS + request_timeout)
    assert in_flight.retry_after is not None
    service.start()
    restarted = time.monotonic()
    back = burst.first(201, after=restarted, timeout=RECOVERY_SECONDS)
    ready = wait_ready(service, platform.probes[name], timeout=RECOVERY_SECONDS)
    figures = {
        "killed_at": killed,
        "fresh_503": fresh_seconds,
        "in_flight_503": in_flight.ended - killed,
        "api_back": back.ended - restarted,
        "probe_ready": ready - restarted,
    }
    # Some more of the burst against the restarted service.
    burst.first(201, after=back.ended, timeout=RECOVERY_SECONDS)
    return figures


def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    return send(), time.monotonic() - started


def report(name: str, figures: dict[str, float], burst: Burst) -> None:
    print(
        f"{name} SIGKILLed: a new request answered 503 in {figures['fresh_503']:.3f}s, the "
        f"burst's first 503 {figures['in_flight_503']:.2f}s after the kill; API answering "
        f"201 again {figures['api_back']:.2f}s after the restart (probe ready "
        f"{figures['probe_ready']:.2f}s); answers {burst.statuses()}"
    )


def assert_only(attempts: list[Attempt], allowed: set[int]) -> None:
    unexpected = [a for a in attempts if a.status not in allowed]
    assert not unexpected, unexpected[:5]


def test_auth_killed_during_signups_and_logins(processes):
    api = processes.api
    run = uuid.uuid4().hex[:6]

    def signup_then_login(index: int) -> list[Attempt]:
        username = f"s{run}x{index}"
        signed, _ = call(
            "signup",
            username,
            lambda: api.post(
                "/auth/signup",
                json={"username": username, "email": f"{username}@example.com", "password": PW},
            ),
        )
        if signed.status != 201:
            return [signed]
        logged, _ = call("login", username, lambda: login(api, username))
        return [signed, logged]

    burst = Burst(signup_then_login)
    with burst.running():
        # Sign-ups and logins may queue for a password check: the gateway waits longer.
        figures = kill_and_restart(
            processes,
            "auth",
            burst,
            lambda: login(api, "nobody"),
            request_timeout=PASSWORD_REQUEST_TIMEOUT_SECONDS,
        )
    report("auth", figures, burst)

    assert_only(burst.of("signup"), {201, 503})
    assert_only(burst.of("login"), {200, 503})
    # Every account that got its 201 is whole: it logs in. A sign-up refused while the
    # service was gone left nothing; one in flight at the kill is there whole or not at all.
    accounts = processes.column("auth", "SELECT username FROM users")
    for attempt in burst.of("signup"):
        if attempt.status == 201 or attempt.key in accounts:
            assert attempt.status == 201 or attempt.in_flight_at(figures["killed_at"]), attempt
            assert login(api, attempt.key).status_code == 200, attempt


def login(api: httpx.Client, username: str) -> httpx.Response:
    return api.post("/auth/login", json={"login": username, "password": PW})


def test_teams_killed_during_team_creations_and_invitations(processes):
    api = processes.api
    alice, bob = Person(api, password=PW), Person(api, password=PW)
    run = uuid.uuid4().hex[:6]

    def team_with_member(index: int) -> list[Attempt]:
        name = f"t{run}-{index}"
        created, answer = call("team", name, lambda: alice.post("/teams", json={"name": name}))
        if created.status != 201:
            return [created]
        team_id = answer.json()["id"]
        invited, answer = call(
            "invite",
            team_id,
            lambda: alice.post(
                f"/teams/{team_id}/invitations", json={"login": bob.username, "role": "member"}
            ),
        )
        if invited.status != 201:
            return [created, invited]
        accept_path = f"/invitations/{answer.json()['id']}/accept"
        accepted, _ = call("accept", team_id, lambda: bob.post(accept_path))
        return [created, invited, accepted]

    burst = Burst(team_with_member)
    with burst.running():
        figures = kill_and_restart(processes, "teams", burst, lambda: alice.get("/teams"))
    report("teams", figures, burst)
    assert_only(burst.of("team") + burst.of("invite"), {201, 503})
    assert_only(burst.of("accept"), {200, 503})

    teams = {team["name"]: team for team in alice.get("/teams").json()["teams"]}
    assert processes.column("teams", "SELECT name FROM teams") == teams.keys()
    # Every team that got its 201 exists with its owner; a creation that failed left no team,
    # unless it was in flight at the kill (then whole: the owner is in it).
    for attempt in burst.of("team"):
        if attempt.status == 201:
            assert attempt.key in teams, attempt
        elif not attempt.in_flight_at(figures["killed_at"]):
            assert attempt.key not in teams, attempt
    members = {team["id"]: roles(alice, team["id"]) for team in teams.values()}
    for team in teams.values():
        assert team["role"] == "owner"
        assert members[team["id"]].get(alice.id) == "owner"
    for attempt in burst.of("accept"):
        if attempt.status == 200:
            assert members[attempt.key].get(bob.id) == "member", attempt

    events = asyncio.run(stream_events(processes.nats, "pyk8s.events.team.>"))
    assert_once_by_id(events)
    created_events = [e["subject"] for e in events if e["type"].endswith("team.created")]
    added = [e["subject"] for e in events if e["type"].endswith("team.member.added")]
    # One event per change that happened, however the kill fell.
    assert sorted(created_events) == sorted(members)
    assert sorted(added) == sorted(t for t, team_roles in members.items() if bob.id in team_roles)


def roles(person: Person, team_id: str) -> dict[str, str]:
    listed = person.get(f"/teams/{team_id}/members")
    assert listed.status_code == 200, listed.text
    return {member["user_id"]: member["role"] for member in listed.json()["members"]}
