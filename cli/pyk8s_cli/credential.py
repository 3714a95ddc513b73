"""Short-lived tokens for kubectl. The kubeconfig of `pyk8s cluster kubeconfig` names
`pyk8s kube-credential` as its exec plugin (client-go's ExecCredential protocol), so the
kubeconfig itself holds no secret: kubectl asks this module for a token each time its last one
runs out.

A stored login gives its access token, renewed through the refresh flow shortly before it
expires. An API token (PYK8S_TOKEN, --token, or `pyk8s login --token`) is never handed to
kubectl: it is traded for a short-lived access token (`POST /auth/access-token`), cached per
server in the private config directory so repeated kubectl calls do not each ask the server."""

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .client import ApiClient
from .config import write_private
from .errors import CliError, NotSignedIn

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
# A token is renewed this long before it expires, and kubectl is told it expires that much
# early, so a request never sets off with a token about to die on the way.
MARGIN = timedelta(seconds=60)
CACHE_NAME = "kube-tokens.json"


@dataclass(frozen=True)
class Credential:
    token: str
    expires_at: datetime


def expiry(token: str) -> datetime | None:
    """When a JWT expires, None for any other token. The signature is not checked: this only
    decides when to renew; the gateway is what verifies the token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        return datetime.fromtimestamp(int(json.loads(payload)["exp"]), UTC)
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        return None


def fresh(expires_at: datetime) -> bool:
    return expires_at - datetime.now(UTC) > MARGIN


def short_lived(api: ApiClient) -> Credential:
    """A token for the server that stays valid for more than MARGIN."""
    session = api.session
    token = api.explicit_token or (session.access_token if session else None)
    if not token:
        raise NotSignedIn()
    expires_at = expiry(token)
    if expires_at is None:
        return traded(api, token)
    if fresh(expires_at):
        return Credential(token, expires_at)
    if api.explicit_token:
        raise NotSignedIn(
            "the access token from --token or PYK8S_TOKEN is about to expire: "
            "give an API token instead, or run `pyk8s login`"
        )
    if not api.refresh_session() or api.session is None:
        raise NotSignedIn("the session expired: run `pyk8s login`")
    renewed = api.session.access_token
    renewed_expiry = expiry(renewed)
    if renewed_expiry is None:
        raise CliError(f"{api.server} renewed the session with a token that has no expiry")
    return Credential(renewed, renewed_expiry)


def traded(api: ApiClient, long_lived: str) -> Credential:
    """The cached short-lived token of this API token, or a new one from the server."""
    path = api.config.path.with_name(CACHE_NAME)
    # Keyed by a hash: the API token itself is not written down here.
    key = hashlib.sha256(f"{api.server}\n{long_lived}".encode()).hexdigest()
    cache = read_cache(path)
    if key in cache and fresh(cache[key].expires_at):
        return cache[key]
    answer = api.post("/auth/access-token")
    try:
        credential = Credential(
            answer["access_token"], datetime.fromisoformat(answer["expires_at"])
        )
    except (TypeError, KeyError, ValueError):
        raise CliError(f"{api.server} answered POST /auth/access-token with no token") from None
    kept = {k: v for k, v in cache.items() if fresh(v.expires_at)}
    write_cache(path, {**kept, key: credential})
    return credential


def read_cache(path: Path) -> dict[str, Credential]:
    try:
        raw = json.loads(path.read_text())
        return {
            key: Credential(entry["token"], datetime.fromisoformat(entry["expires_at"]))
            for key, entry in raw.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # Missing, or damaged: only a cache, replaced by the next token traded.
        return {}


def write_cache(path: Path, cache: dict[str, Credential]) -> None:
    entries = {
        key: {"token": c.token, "expires_at": c.expires_at.isoformat()} for key, c in cache.items()
    }
    write_private(path, json.dumps(entries, indent=2) + "\n")


def requested_api_version() -> str:
    """The ExecCredential version kubectl asked for in KUBERNETES_EXEC_INFO (the answer
    must be in the same version), v1 when it did not say."""
    info = os.environ.get("KUBERNETES_EXEC_INFO")
    if not info:
        return EXEC_API_VERSIONS[0]
    try:
        version = json.loads(info)["apiVersion"]
    except (ValueError, KeyError, TypeError):
        raise CliError("KUBERNETES_EXEC_INFO is not an ExecCredential", exit_code=2) from None
    if version not in EXEC_API_VERSIONS:
        raise CliError(
            f"kubectl asked for {version}; pyk8s answers {' or '.join(EXEC_API_VERSIONS)}",
            exit_code=2,
        )
    return version


def exec_credential(credential: Credential, api_version: str) -> dict[str, Any]:
    expires = (credential.expires_at - MARGIN).astimezone(UTC)
    return {
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": {
            "token": credential.token,
            "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
