"""What each cluster provider offers on this machine, as the provisioner finds it."""

from fastapi import APIRouter

from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_kit.bus import request

from ..deps import Bus, CurrentUser

router = APIRouter(prefix="/providers", tags=["clusters"])


@router.get("", response_model=c.ProviderList)
async def list_providers(bus: Bus, user: CurrentUser) -> c.ProviderList:
    """Each provider (kind, k3d, kwok): `available`, or the `reason` why not (its CLI or
    binaries missing); its CLI's version; the Kubernetes versions a create may ask for and
    the default one. A create asking for any other version is refused (422). Any signed-in
    user."""
    payload = c.ProvidersRequest(actor_id=user.user_id)
    return await request(
        bus, subjects.PROVISIONER_PROVIDERS_LIST, payload, c.ProviderList, actor=user.assertion
    )
