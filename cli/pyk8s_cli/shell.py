"""`cluster shell`: the local terminal in raw mode, bridged to the gateway's terminal
WebSocket (protocol in docs/terminal.md). The single-use ticket from
`POST /clusters/{id}/terminal` travels in the first message (never in the URL, so it stays
out of logs); keystrokes go as binary frames, resizes and acknowledgements of consumed
output as JSON text frames; output comes back as binary frames."""

import json
import os
import select
import shutil
import signal
import sys
import termios
import threading
import tty
from typing import Any

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from .app import App
from .errors import CliError

NORMAL_CLOSE = 1000


def ws_url(server: str, answer: dict[str, Any]) -> str:
    path = str(answer["ws_url"])
    if path.startswith(("ws://", "wss://")):
        return path
    base = server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return base + path


def size() -> dict[str, int]:
    columns, lines = shutil.get_terminal_size()
    return {"cols": columns, "rows": lines}


def run_shell(app: App, cluster_id: str) -> int:
    answer = app.api.post(f"/clusters/{cluster_id}/terminal")
    if not isinstance(answer, dict) or not answer.get("ticket") or not answer.get("ws_url"):
        raise CliError("the server gave no terminal ticket")
    try:
        ws = connect(ws_url(app.server, answer), open_timeout=15, max_size=2**20)
    except (OSError, TimeoutError, WebSocketException) as error:
        raise CliError(f"cannot open the terminal: {error}") from None
    with ws:
        ws.send(json.dumps({"type": "hello", "ticket": answer["ticket"], **size()}))
        wait_until_ready(ws)
        return bridge(ws)


def wait_until_ready(ws: ClientConnection) -> None:
    """Keystrokes are forwarded only once the gateway says the session is open."""
    try:
        while True:
            message = ws.recv(timeout=30)
            if isinstance(message, str) and parse(message).get("type") == "ready":
                return
    except TimeoutError:
        raise CliError("the terminal did not open within 30s") from None
    except ConnectionClosed:
        raise CliError(
            f"the terminal was refused: {ws.close_reason or 'connection closed'}"
        ) from None


def bridge(ws: ClientConnection) -> int:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    # The handler only pokes a pipe: sending from it could deadlock with a send it interrupted.
    resized_r, resized_w = os.pipe()
    previous = signal.signal(signal.SIGWINCH, lambda *_: os.write(resized_w, b"r"))
    stop = threading.Event()
    reader = threading.Thread(target=pump_input, args=(ws, fd, resized_r, stop), daemon=True)
    tty.setraw(fd, termios.TCSANOW)  # TCSANOW: keep what was typed ahead
    try:
        reader.start()
        code = pump_output(ws)
    finally:
        stop.set()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
        reader.join(1)
        os.close(resized_r)
        os.close(resized_w)
    if ws.close_code not in (None, NORMAL_CLOSE) and ws.close_reason:
        raise CliError(f"terminal closed: {ws.close_reason}")
    return code


def pump_output(ws: ClientConnection) -> int:
    """Write output until the session ends; the shell's exit code, when it sent one."""
    out = sys.stdout.buffer
    code = 0
    try:
        for message in ws:
            if isinstance(message, bytes):
                out.write(message)
                out.flush()
                # Credit-based flow control: the terminal sends more once we acknowledge.
                send(ws, json.dumps({"type": "ack", "bytes": len(message)}))
                continue
            frame = parse(message)
            if frame.get("type") == "exit":
                code = int(frame.get("code") or 0)
    except ConnectionClosed:
        pass
    return code


def parse(message: str) -> dict[str, Any]:
    try:
        frame = json.loads(message)
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}


def pump_input(ws: ClientConnection, fd: int, resized: int, stop: threading.Event) -> None:
    while not stop.is_set():
        ready, _, _ = select.select([fd, resized], [], [], 0.2)
        if resized in ready:
            os.read(resized, 64)
            if not send(ws, json.dumps({"type": "resize", **size()})):
                return
        if fd not in ready:
            continue
        data = os.read(fd, 4096)
        if not data or not send(ws, data):
            return


def send(ws: ClientConnection, data: str | bytes) -> bool:
    try:
        ws.send(data)
    except (ConnectionClosed, OSError):
        return False
    return True
