"""The users of the load test (bench/load.py runs them against `make up`'s runner): each signs
up and in, makes a team, then, with 1 to 3 s between actions, lists clusters, reads one (its
own when it has one, else its team), reads its team and itself, watches cluster events over
SSE for 2 s, and now and then creates a cluster (the kind test double; at most LOAD_CLUSTERS
live at once across all users), waits for it to be ready and later deletes it."""

import os
import time
import uuid

from gevent.lock import BoundedSemaphore
from locust import HttpUser, between, task
from requests.exceptions import ConnectionError, ReadTimeout

PASSWORD = "correct horse battery"
PREFIX = os.environ.get("LOAD_PREFIX", "load")
READY_SECONDS = 90
WATCH_SECONDS = 2
live_clusters = BoundedSemaphore(int(os.environ.get("LOAD_CLUSTERS", "10")))


class Person(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        name = f"{PREFIX}-{uuid.uuid4().hex[:10]}"
        account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        self.client.post("/api/v1/auth/signup", json=account)
        tokens = self.client.post(
            "/api/v1/auth/login", json={"login": name, "password": PASSWORD}
        ).json()
        self.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        team = self.client.post("/api/v1/teams", json={"name": name}).json()
        self.team_id = team["id"]
        self.cluster_id: str | None = None

    def on_stop(self) -> None:
        self.delete_cluster()

    @task(6)
    def list_clusters(self) -> None:
        self.client.get("/api/v1/clusters?limit=50")

    @task(6)
    def read_cluster(self) -> None:
        if self.cluster_id:
            self.client.get(f"/api/v1/clusters/{self.cluster_id}", name="/clusters/[id]")
        else:
            self.read_team()

    @task(3)
    def read_team(self) -> None:
        self.client.get(f"/api/v1/teams/{self.team_id}", name="/teams/[id]")

    @task(3)
    def me(self) -> None:
        self.client.get("/api/v1/auth/me")

    @task(1)
    def watch_events(self) -> None:
        """The stream for a moment: a read that times out with nothing sent is the watch's end."""
        with self.client.get(
            "/api/v1/events/clusters",
            stream=True,
            timeout=(5, WATCH_SECONDS),
            catch_response=True,
            name="/events/clusters (SSE)",
        ) as answer:
            deadline = time.monotonic() + WATCH_SECONDS
            try:
                for _ in answer.iter_lines():
                    if time.monotonic() > deadline:
                        break
            except (ReadTimeout, ConnectionError) as error:
                # requests reports a read timeout while streaming as a ConnectionError.
                if "timed out" not in str(error):
                    answer.failure(f"the stream broke: {error}")
                    return
            if answer.status_code == 200:
                answer.success()

    @task(1)
    def create_cluster(self) -> None:
        if self.cluster_id or not live_clusters.acquire(blocking=False):
            return
        body = {"name": f"{PREFIX}-{uuid.uuid4().hex[:8]}", "provider": "kind"}
        answer = self.client.post("/api/v1/clusters", json=body)
        if answer.status_code != 202:
            live_clusters.release()
            return
        self.cluster_id = answer.json()["id"]
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            status = self.client.get(
                f"/api/v1/clusters/{self.cluster_id}", name="/clusters/[id] (until ready)"
            ).json()["status"]
            if status not in ("pending", "provisioning"):
                return
            time.sleep(0.5)

    @task(1)
    def delete_cluster(self) -> None:
        if not self.cluster_id:
            return
        self.client.delete(f"/api/v1/clusters/{self.cluster_id}", name="/clusters/[id]")
        self.cluster_id = None
        live_clusters.release()
