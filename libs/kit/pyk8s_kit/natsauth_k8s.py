"""NATS identities in Kubernetes, for the Helm chart.

`ensure` runs as the chart's Job, from the app image: it completes the release's credentials
Secret with a seed per identity that lacks one, each identity's public key, and the server's
`authorization` block (`authorization.json`, for a NATS run outside the chart). Seeds already
there are kept, so upgrades and re-runs never change a component's identity. nkey seeds need
ed25519, which Helm's template functions cannot derive a public key from: that is why a Job
does this rather than `lookup` in a template.

`authorization` runs as the bundled NATS server's init container: it writes the block from the
public keys alone, with the permission table of the image being deployed, so the server never
sees a seed and follows the table of the version it runs with.

    python -m pyk8s_kit.natsauth_k8s ensure --secret RELEASE-nats-credentials
    python -m pyk8s_kit.natsauth_k8s authorization --public-keys DIR --out FILE
"""

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path
from typing import Any

import nkeys

from pyk8s_contracts.identities import ALL_IDENTITIES
from pyk8s_kit.natsauth import authorization_for_keys, new_seed

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
AUTHORIZATION_KEY = "authorization.json"


def seed_key(identity: str) -> str:
    return f"{identity}.nk"


def public_key_key(identity: str) -> str:
    return f"{identity}.pub"


def authorization_document(keys: dict[str, str]) -> bytes:
    """A NATS configuration file holding only the `authorization` block; the server's own
    configuration `include`s it."""
    return json.dumps({"authorization": authorization_for_keys(keys)}, indent=2).encode()


def completed(data: dict[str, bytes]) -> dict[str, bytes]:
    """The keys to write so that `data` (a Secret's decoded data) has a seed and a public key
    for every identity and the authorization block that matches them."""
    updates: dict[str, bytes] = {}
    keys: dict[str, str] = {}
    for identity in ALL_IDENTITIES:
        seed = data.get(seed_key(identity)) or updates.setdefault(seed_key(identity), new_seed())
        keys[identity] = nkeys.from_seed(bytearray(seed.strip())).public_key.decode()
        updates[public_key_key(identity)] = keys[identity].encode()
    updates[AUTHORIZATION_KEY] = authorization_document(keys)
    return {key: value for key, value in updates.items() if data.get(key) != value}


class KubeApi:
    """The two Secret calls the Job makes, with the standard library: the Kubernetes client
    package would add a large dependency to every component's image for a GET and a PATCH."""

    def __init__(self, server: str, token: str, ca_file: str) -> None:
        self._server = server.rstrip("/")
        self._token = token
        self._context = ssl.create_default_context(cafile=ca_file)

    def _call(self, method: str, path: str, body: bytes | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self._server + path,
            data=body,
            method=method,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/json",
                "Content-Type": "application/merge-patch+json",
            },
        )
        with urllib.request.urlopen(request, context=self._context, timeout=30) as response:
            return json.load(response)

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes]:
        secret = self._call("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}

    def patch_secret_data(self, namespace: str, name: str, data: dict[str, bytes]) -> None:
        encoded = {key: base64.b64encode(value).decode() for key, value in data.items()}
        body = json.dumps({"data": encoded}).encode()
        self._call("PATCH", f"/api/v1/namespaces/{namespace}/secrets/{name}", body)


def in_cluster_server() -> str:
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def ensure(args: argparse.Namespace) -> None:
    namespace = args.namespace or (SERVICE_ACCOUNT / "namespace").read_text().strip()
    api = KubeApi(args.server, Path(args.token_file).read_text().strip(), args.ca_file)
    updates = completed(api.secret_data(namespace, args.secret))
    if updates:
        api.patch_secret_data(namespace, args.secret, updates)
    new = sorted(i for i in ALL_IDENTITIES if seed_key(i) in updates)
    print(
        f"secret {namespace}/{args.secret}: new seeds for {new or 'nobody'}, "
        f"{len(updates)} keys written"
    )


def write_authorization(args: argparse.Namespace) -> None:
    folder = Path(args.public_keys)
    keys = {i: (folder / public_key_key(i)).read_text().strip() for i in ALL_IDENTITIES}
    out = Path(args.out)
    out.write_bytes(authorization_document(keys))
    print(f"{out}: {len(keys)} identities")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pyk8s_kit.natsauth_k8s")
    commands = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = commands.add_parser("ensure", help="complete the credentials Secret")
    ensure_cmd.add_argument("--secret", required=True)
    ensure_cmd.add_argument("--namespace", default="", help="default: the pod's namespace")
    ensure_cmd.add_argument("--server", default=in_cluster_server())
    ensure_cmd.add_argument("--token-file", default=str(SERVICE_ACCOUNT / "token"))
    ensure_cmd.add_argument("--ca-file", default=str(SERVICE_ACCOUNT / "ca.crt"))
    ensure_cmd.set_defaults(run=ensure)
    auth_cmd = commands.add_parser("authorization", help="write the server's block")
    auth_cmd.add_argument("--public-keys", required=True, help="folder of <identity>.pub files")
    auth_cmd.add_argument("--out", required=True)
    auth_cmd.set_defaults(run=write_authorization)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
