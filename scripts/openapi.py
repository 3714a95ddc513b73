"""Writes the gateway's OpenAPI document to the file named on the command line, from the
gateway code alone (no server, no NATS): `make schema` generates the web app's types from it."""

import json
import sys
from pathlib import Path

from pyk8s_gateway.main import create_app


def main(out: str) -> None:
    Path(out).write_text(json.dumps(create_app().openapi(), indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
