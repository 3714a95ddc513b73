"""Merge a cluster's kubeconfig into the user's (like `k3d kubeconfig merge`): its cluster,
user and context are renamed to one name, replace entries of that name if present, and the
file is written atomically with mode 0600."""

import os
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


def renamed(config: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """The cluster, user and context of a one-cluster kubeconfig, all named `name`."""
    try:
        context = pick(config, "contexts", config.get("current-context"))
        cluster = pick(config, "clusters", context["context"]["cluster"])
        user = pick(config, "users", context["context"]["user"])
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


def merge_into(path: Path, kubeconfig_text: str, name: str, switch_context: bool = True) -> None:
    entries = renamed(parse(kubeconfig_text, "the server's kubeconfig"), name)
    existing = parse(path.read_text(), str(path)) if path.exists() else {}
    text = yaml.safe_dump(merge(existing, entries, switch_context), sort_keys=False)
    write_private(path, text)
