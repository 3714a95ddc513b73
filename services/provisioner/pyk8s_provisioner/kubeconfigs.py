"""Kubeconfigs, read and written in one place. A cluster's admin kubeconfig (as its CLI gave
it, stored encrypted) yields the API server and the client certificate the gateway's
Kubernetes API proxy authenticates with; the kubeconfig people download points at the
gateway and gets its token from the `pyk8s` exec plugin, with no secret inside
(docs/kubernetes-access.md)."""

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

EXEC_API_VERSION = "client.authentication.k8s.io/v1"
INSTALL_HINT = (
    "This kubeconfig gets its credentials from the pyk8s CLI: install it "
    "(uv tool install pyk8s-cli, or uv run pyk8s in the PyK8s-Lab workspace) "
    "and sign in with `pyk8s login`."
)


# How kind and k3d name an API server they publish on the engine's own machine.
MACHINE_LOCAL = {"127.0.0.1", "0.0.0.0", "localhost"}
SERVER_LINE = re.compile(r"^(\s*server:\s*)(\S+)\s*$", re.MULTILINE)


def reachable_at(kubeconfig: str, address: str) -> str:
    """The kubeconfig with each API server published on the engine's machine named by
    `address`, where other machines reach it; other servers are left as they are."""

    def named(match: re.Match[str]) -> str:
        url = urlsplit(match.group(2))
        if url.hostname not in MACHINE_LOCAL:
            return match.group(0)
        netloc = f"{address}:{url.port}" if url.port else address
        return match.group(1) + url._replace(netloc=netloc).geturl()

    return SERVER_LINE.sub(named, kubeconfig)


class KubeconfigError(ValueError):
    """A stored kubeconfig lacks what the proxy needs."""


@dataclass(frozen=True)
class AdminCredential:
    server: str
    # PEM text.
    certificate_authority: str
    client_certificate: str
    client_key: str


def admin_credential(text: str) -> AdminCredential:
    """The API server and client certificate of the current context. Every certificate and
    key must be embedded (`*-data`): the stored kubeconfig is all the platform keeps."""
    config = _load(text)
    try:
        context = _entry(config, "contexts", config.get("current-context"))["context"]
        cluster = _entry(config, "clusters", context["cluster"])["cluster"]
        user = _entry(config, "users", context["user"])["user"]
        return AdminCredential(
            server=str(cluster["server"]).rstrip("/"),
            certificate_authority=_pem(cluster, "certificate-authority-data"),
            client_certificate=_pem(user, "client-certificate-data"),
            client_key=_pem(user, "client-key-data"),
        )
    except (KeyError, TypeError) as error:
        raise KubeconfigError(f"the stored kubeconfig lacks {error}") from None


# libyaml's loader when PyYAML has it: the proxy reads a kubeconfig on every Kubernetes API
# request, 0.15 ms with it against 2 ms without.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> dict[str, Any]:
    try:
        config = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        raise KubeconfigError("the stored kubeconfig is not YAML") from None
    if not isinstance(config, dict):
        raise KubeconfigError("the stored kubeconfig is not a mapping")
    return config


def _entry(config: dict[str, Any], section: str, name: str | None) -> dict[str, Any]:
    """The entry of `section` called `name`; the first one when no name is set."""
    for entry in config.get(section) or []:
        if name is None or entry.get("name") == name:
            return entry
    raise KeyError(f"{section} {name or ''}".strip())


def _pem(section: dict[str, Any], field: str) -> str:
    try:
        return base64.b64decode(section[field], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise KubeconfigError(f"the stored kubeconfig's {field} is not base64 PEM") from None


def context_name(cluster_name: str) -> str:
    return f"pyk8s-{cluster_name}"


def proxy_url(gateway: str, cluster_id: uuid.UUID) -> str:
    return f"{gateway.rstrip('/')}/k8s/clusters/{cluster_id}"


def exec_kubeconfig(
    gateway: str,
    cluster_id: uuid.UUID,
    cluster_name: str,
    certificate_authority: str | None = None,
) -> str:
    """A kubeconfig for the cluster through the gateway's proxy at `gateway` (its public base
    URL), trusting `certificate_authority` (PEM) for it when given. kubectl runs
    `pyk8s kube-credential` for a token, as it runs the cloud providers' CLIs."""
    name = context_name(cluster_name)
    gateway = gateway.rstrip("/")
    cluster = {"server": proxy_url(gateway, cluster_id)}
    if certificate_authority:
        cluster["certificate-authority-data"] = base64.b64encode(
            certificate_authority.encode()
        ).decode()
    credential = {
        "apiVersion": EXEC_API_VERSION,
        "command": "pyk8s",
        "args": ["--server", gateway, "kube-credential", "--cluster", str(cluster_id)],
        "interactiveMode": "Never",
        "provideClusterInfo": False,
        "installHint": INSTALL_HINT,
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"exec": credential}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
