"""A small Server-Sent Events reader (the WHATWG `text/event-stream` format)."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class ServerEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def parse(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Events from the stream's lines; comments (keep-alives) and empty events are skipped."""
    event, data, last_id = "message", [], None
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if data:
                yield ServerEvent(event, "\n".join(data), last_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value or "message"
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
