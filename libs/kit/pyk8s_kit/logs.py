import contextlib
import logging
import sys
import threading

# uvicorn logs each request's target, query included: HTTP requests on the access logger,
# WebSocket handshakes on the error logger.
REQUEST_LOGGERS = ("uvicorn.access", "uvicorn.error")


def without_query(target: str) -> str:
    path, separator, _ = target.partition("?")
    return f"{path}?…" if separator else path


class RedactQuery(logging.Filter):
    """Drops the query from request targets in log lines: a query may carry a secret (a
    stream ticket, a token somebody put in a URL), and even its parameter names are the
    client's to choose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_query(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOGGER = "uvicorn.access"
# Access log lines are written in batches, as nginx's `access_log ... buffer= flush=` does: at
# most this long after they happen, or once this many wait. A line a second is what a process
# killed without warning can lose; a warning or worse goes out at once.
ACCESS_LOG_FLUSH_SECONDS = 1.0
ACCESS_LOG_BATCH_LINES = 64


class BatchedStreamHandler(logging.StreamHandler):
    """Collects formatted lines and writes them together: one write for a batch of access
    log lines instead of a system call each, in the gateway and in whatever reads its output
    (under `make up`, supervisord spent 0.05 ms per request reading the lines one by one,
    docs/performance.md). Whole lines only, so no other handler's line lands inside one."""

    def __init__(self, stream, flush_seconds: float, batch_lines: int) -> None:
        super().__init__(stream)
        self.batch_lines = batch_lines
        self._lines: list[str] = []
        self._stopped = threading.Event()
        flusher = threading.Thread(
            target=self._flush_every, args=(flush_seconds,), name="log-flush", daemon=True
        )
        flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
            if len(self._lines) >= self.batch_lines or record.levelno >= logging.WARNING:
                self.flush()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:
            # Taken before writing: lines a broken stream refused are not tried again forever.
            lines, self._lines = self._lines, []
            if lines:
                self.stream.write("".join(lines))
            super().flush()

    def close(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError, ValueError):
            self.flush()
        super().close()

    def _flush_every(self, seconds: float) -> None:
        while not self._stopped.wait(seconds):
            with contextlib.suppress(OSError, ValueError):
                self.flush()


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=FORMAT)
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(h, BatchedStreamHandler) for h in access.handlers):
        batched = BatchedStreamHandler(sys.stderr, ACCESS_LOG_FLUSH_SECONDS, ACCESS_LOG_BATCH_LINES)
        batched.setFormatter(logging.Formatter(FORMAT))
        access.addHandler(batched)
        access.propagate = False
    logging.getLogger("nats").setLevel(logging.WARNING)
    # httpx logs every request's URL, query included, at INFO: the gateway's Kubernetes API
    # proxy would write its callers' label selectors and object names to the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuery) for f in logger.filters):
            logger.addFilter(RedactQuery())
