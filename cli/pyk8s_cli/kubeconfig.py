"""Merge a cluster's kubeconfig into the user's (like `k3d kubeconfig merge`): its cluster,
user and context take one name (the server's context name unless told another), replace
entries of that name if present, and the file is written atomically with mode 0600."""

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from .config import write_private
from .errors import CliError

SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}


def default_path() -> Path:
    """The first file of $KUBECONFIG, else ~/.kube/config (where kubectl looks)."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def parse(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        raise CliError(f"{source} is not valid YAML: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CliError(f"{source} is not a kubeconfig (expected a mapping)")
    return data


def renamed(config: dict[str, Any], name: str | None) -> dict[str, dict[str, Any]]:
    """The cluster, user and context of a one-cluster kubeconfig, all named `name` (by
    default the name of its context)."""
    try:
        context = pick(config, "contexts", config.get("current-context"))
        cluster = pick(config, "clusters", context["context"]["cluster"])
        user = pick(config, "users", context["context"]["user"])
        name = name or str(context["name"])
    except (KeyError, TypeError):
        raise CliError("the server's kubeconfig has no usable context") from None
    body = dict(context["context"], cluster=name, user=name)
    return {
        "clusters": {"name": name, "cluster": cluster["cluster"]},
        "users": {"name": name, "user": user["user"]},
        "contexts": {"name": name, "context": body},
    }


def pick(config: dict[str, Any], section: str, name: str | None) -> dict[str, Any]:
    entries = config.get(section) or []
    for entry in entries:
        if name is None or entry.get("name") == name:
            return entry
    raise KeyError(section)


def merge(
    existing: dict[str, Any], entries: dict[str, dict[str, Any]], switch_context: bool
) -> dict[str, Any]:
    merged = dict(existing)
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    merged.setdefault("preferences", {})
    for section, entry in entries.items():
        kept = [e for e in merged.get(section) or [] if e.get("name") != entry["name"]]
        merged[section] = [*kept, entry]
    if switch_context or not merged.get("current-context"):
        merged["current-context"] = entries["contexts"]["name"]
    return merged


def merge_into(
    path: Path, kubeconfig_text: str, name: str | None = None, switch_context: bool = True
) -> str:
    """Merge into the file at `path`; the name of the context merged."""
    entries = renamed(parse(kubeconfig_text, "the server's kubeconfig"), name)
    existing = parse(path.read_text(), str(path)) if path.exists() else {}
    text = yaml.safe_dump(merge(existing, entries, switch_context), sort_keys=False)
    write_private(path, text)
    return entries["contexts"]["name"]


def plugin_signed_in_to(kubeconfig_text: str, server: str) -> str:
    """The kubeconfig with its exec plugin asking the server this CLI is signed in to. The
    server names its public URL, which may be another address of the same platform than the
    one the CLI uses (under `make up`: https for kubectl, http for the CLI), where the plugin
    would find no login."""
    config = parse(kubeconfig_text, "the server's kubeconfig")
    for plugin in nested(config, "users", "user", "exec"):
        args = plugin.get("args")
        if isinstance(args, list) and "--server" in args[:-1]:
            args[args.index("--server") + 1] = server
    return yaml.safe_dump(config, sort_keys=False)


def kubectl_problems(kubeconfig_text: str) -> list[str]:
    """Why kubectl could not use a kubeconfig's exec plugin on this machine: the command is
    not on PATH, or the server is plain http, to which client-go sends no credentials at all."""
    config = parse(kubeconfig_text, "the server's kubeconfig")
    plugins = nested(config, "users", "user", "exec")
    commands = [str(plugin["command"]) for plugin in plugins if plugin.get("command")]
    if not commands:
        return []
    missing = [
        f"kubectl runs `{command}` for its tokens and it is not on PATH: install it there, "
        "e.g. `uv tool install ./cli` in the pyk8s-lab checkout"
        for command in commands
        if shutil.which(command) is None
    ]
    servers = [str(cluster.get("server")) for cluster in nested(config, "clusters", "cluster")]
    plain = [
        f"kubectl sends no credentials to {server}: the platform must be served over https"
        for server in servers
        if server.startswith("http://")
    ]
    return missing + plain


def nested(config: dict[str, Any], section: str, *keys: str) -> list[dict[str, Any]]:
    """The mappings at `keys` inside each entry of a section, where present."""
    found = []
    for entry in config.get(section) or []:
        for key in keys:
            entry = entry.get(key) if isinstance(entry, dict) else None
        if isinstance(entry, dict):
            found.append(entry)
    return found
