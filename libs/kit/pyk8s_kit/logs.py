import logging

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


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("nats").setLevel(logging.WARNING)
    # httpx logs every request's URL, query included, at INFO: the gateway's Kubernetes API
    # proxy would write its callers' label selectors and object names to the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuery) for f in logger.filters):
            logger.addFilter(RedactQuery())
