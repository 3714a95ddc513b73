"""The values table of helm/pyk8s-lab/README.md, from values.yaml: every key with its default
and the `# --` comment above it (the helm-docs convention). Rewrites the table between the
README's markers; with --check, only says whether it is current (tests/deploy/test_helm.py)."""

import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[1] / "helm" / "pyk8s-lab"
START, END = "<!-- values:start -->", "<!-- values:end -->"


def rows(text: str) -> list[tuple[str, str, str]]:
    values = yaml.safe_load(text)
    path: list[str] = []
    described: list[str] = []
    found = []
    for line in text.splitlines():
        if match := re.match(r"^\s*# -- ?(.*)$", line):
            described = [match.group(1)]
            continue
        if match := re.match(r"^\s*#\s?(.*)$", line):
            if described:
                described.append(match.group(1))
            continue
        match = re.match(r"^(\s*)([A-Za-z0-9_]+):(.*)$", line)
        if not match:
            continue
        path = [*path[: len(match.group(1)) // 2], match.group(2)]
        value = values
        for key in path:
            value = value[key]
        leaf = not isinstance(value, dict) or not value or match.group(3).strip().startswith("{")
        if leaf or described:
            default = f"`{json.dumps(value)}`" if leaf else ""
            found.append((".".join(path), default, " ".join(described).strip()))
        described = []
    return found


def table() -> str:
    lines = ["| key | default | description |", "|---|---|---|"]
    lines += [
        f"| `{key}` | {default} | {text} |"
        for key, default, text in rows((CHART / "values.yaml").read_text())
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    readme = CHART / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    current = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in argv:
        if current != text:
            print(f"{readme} is stale: run python scripts/helm-values-table.py")
            return 1
        return 0
    readme.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
