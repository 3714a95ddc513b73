"""One function per NATS subject: decode contract -> call service -> reply."""

from pyk8s_contracts import subjects
from pyk8s_contracts import terminal as c
from pyk8s_kit.bus import Router

from .service import TerminalService


def build_router(service: TerminalService) -> Router:
    router = Router()

    @router.endpoint(subjects.TERMINAL_TICKET_CREATE, c.TicketCreateRequest)
    async def create_ticket(req: c.TicketCreateRequest) -> c.Ticket:
        return await service.create_ticket(req)

    @router.endpoint(subjects.TERMINAL_SESSION_OPEN, c.SessionOpenRequest)
    async def open_session(req: c.SessionOpenRequest) -> c.SessionOpened:
        return await service.open(req)

    return router
