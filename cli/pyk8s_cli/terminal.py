"""All output goes through `Terminal`: results to stdout, messages and errors to stderr."""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

OUTPUT_FORMATS = ("table", "json", "yaml")
PIPE_WIDTH = 1000


@dataclass(frozen=True)
class Column:
    header: str
    key: str | Callable[[dict[str, Any]], Any]
    style: str | None = None
    # Colour by value, e.g. {"ready": "green", "failed": "red"}.
    colors: dict[str, str] | None = None

    def value(self, row: dict[str, Any]) -> str:
        raw = self.key(row) if callable(self.key) else row.get(self.key)
        text = escape(display(raw))
        color = (self.colors or {}).get(str(raw))
        return f"[{color}]{text}[/{color}]" if color else text


def display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value)


class Terminal:
    def __init__(self, out: Console | None = None, err: Console | None = None) -> None:
        self.out = out or Console(soft_wrap=True)
        self.err = err or Console(stderr=True, soft_wrap=True)
        if not self.out.is_terminal:
            # Piped tables keep one row per line, like kubectl's, so grep and awk work.
            self.out.width = PIPE_WIDTH

    @property
    def interactive(self) -> bool:
        return self.out.is_terminal

    def print(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False)

    def info(self, text: str) -> None:
        self.err.print(text, markup=False, highlight=False)

    def success(self, text: str) -> None:
        self.err.print(f"[green]✓[/green] {escape(text)}", highlight=False)

    def warning(self, text: str) -> None:
        self.err.print(f"[yellow]![/yellow] {escape(text)}", highlight=False)

    def error(self, text: str) -> None:
        self.err.print(f"[bold red]Error:[/bold red] {escape(text)}", highlight=False)

    def table(
        self, rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str | None = None
    ) -> None:
        table = Table(title=title, header_style="bold", show_edge=False, pad_edge=False)
        for column in columns:
            table.add_column(column.header, style=column.style, overflow="fold")
        for row in rows:
            table.add_row(*(column.value(row) for column in columns))
        self.out.print(table)

    def data(self, value: Any, output: str) -> None:
        """Print a value as JSON or YAML, unstyled so that it parses back."""
        if output == "json":
            self.out.file.write(json.dumps(value, indent=2) + "\n")
        else:
            self.out.file.write(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))

    def render(
        self, value: Any, output: str, columns: Sequence[Column], title: str | None = None
    ) -> None:
        """A list or a single object: as a table, or as JSON/YAML."""
        if output != "table":
            self.data(value, output)
        elif isinstance(value, list):
            if value:
                self.table(value, columns, title)
            else:
                self.info("nothing to show")
        else:
            self.details(value, columns)

    def details(self, row: dict[str, Any], columns: Sequence[Column]) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for column in columns:
            table.add_row(column.header, column.value(row))
        self.out.print(table)

    @contextmanager
    def status(self, text: str) -> Iterator[Callable[[str], None]]:
        """A spinner on a terminal (plain lines otherwise); yields a function to update it."""
        if not self.err.is_terminal:
            self.info(text)
            last = [text]

            def plain(message: str) -> None:
                if message != last[0]:
                    last[0] = message
                    self.info(message)

            yield plain
            return
        with self.err.status(escape(text), spinner="dots") as live:
            yield lambda message: live.update(escape(message))
