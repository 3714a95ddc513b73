"""`cluster shell`: the local terminal in raw mode, bridged to the gateway's terminal
WebSocket. The ticket from `POST /clusters/{id}/terminal` is sent as the first message
(never in the URL, so it stays out of logs); keystrokes go as binary frames, resizes as
JSON text frames, output comes back as binary frames."""

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
from .client import API_PREFIX
from .errors import CliError


def ws_url(app: App, cluster_id: str, answer: dict[str, Any]) -> str:
    path = answer.get("ws_path") or answer.get("url") or \
        f"{API_PREFIX}/clusters/{cluster_id}/terminal/ws"
    if path.startswith(("ws://", "wss://")):
        return path
    base = app.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return base + path


def resize_message() -> str:
    size = shutil.get_terminal_size()
    return json.dumps({"type": "resize", "cols": size.columns, "rows": size.lines})


def run_shell(app: App, cluster_id: str) -> int:
    answer = app.api.post(f"/clusters/{cluster_id}/terminal")
    if not isinstance(answer, dict) or not answer.get("ticket"):
        raise CliError("the server gave no terminal ticket")
    try:
        ws = connect(ws_url(app, cluster_id, answer), origin=app.server,
                     open_timeout=15, max_size=2**20)
    except (OSError, TimeoutError, WebSocketException) as error:
        raise CliError(f"cannot open the terminal: {error}") from None
    with ws:
        ws.send(answer["ticket"])
        ws.send(resize_message())
        return bridge(ws)


def bridge(ws: ClientConnection) -> int:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    previous = signal.signal(signal.SIGWINCH, lambda *_: safe_send(ws, resize_message()))
    stop = threading.Event()
    reader = threading.Thread(target=pump_input, args=(ws, fd, stop), daemon=True)
    tty.setraw(fd)
    try:
        reader.start()
        return pump_output(ws)
    finally:
        stop.set()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)


def pump_output(ws: ClientConnection) -> int:
    out = sys.stdout.buffer
    try:
        for message in ws:
            if isinstance(message, bytes):
                out.write(message)
                out.flush()
            else:
                code = control(message)
                if code is not None:
                    return code
    except ConnectionClosed:
        pass
    return 0 if ws.close_code in (None, 1000) else 1


def control(message: str) -> int | None:
    """A text frame is either output or a JSON control message such as `{"type": "exit"}`."""
    try:
        data = json.loads(message)
    except ValueError:
        data = None
    if isinstance(data, dict) and "type" in data:
        if data["type"] == "exit":
            return int(data.get("code") or 0)
        if data["type"] == "error":
            sys.stderr.write(f"\r\nError: {data.get('detail') or data.get('message')}\r\n")
            return 1
        return None
    sys.stdout.write(message)
    sys.stdout.flush()
    return None


def pump_input(ws: ClientConnection, fd: int, stop: threading.Event) -> None:
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        data = os.read(fd, 4096)
        if not data or not safe_send(ws, data):
            return


def safe_send(ws: ClientConnection, data: str | bytes) -> bool:
    try:
        ws.send(data)
    except (ConnectionClosed, OSError):
        return False
    return True
