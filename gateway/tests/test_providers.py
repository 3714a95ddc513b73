"""GET /providers against the real provisioner (kind and k3d test doubles, kwok from .tools),
and the refusal of a version no provider offers, before anything is queued."""

import pytest

from conftest import KWOK_SETTINGS
from pyk8s_provisioner.drivers.kwok import installed_versions

from .test_clusters import assert_problem, create


def test_signed_out_is_401(api):
    assert_problem(api.get("/providers"), 401, "unauthorized")


def test_each_provider_says_what_it_offers(person):
    answer = person().get("/providers")
    assert answer.status_code == 200, answer.text
    offers = {offer["provider"]: offer for offer in answer.json()["providers"]}
    assert set(offers) == {"kind", "k3d", "kwok"}
    kind, k3d = offers["kind"], offers["k3d"]
    assert kind["available"] and kind["reason"] is None
    assert (kind["cli_version"], kind["default_version"]) == ("v0.30.0", "v1.34.0")
    assert "v1.34.0" in kind["versions"]
    assert (k3d["cli_version"], k3d["default_version"]) == ("v5.8.3", "v1.31.5")
    installed = list(installed_versions(KWOK_SETTINGS["kwok_versions_dir"]))
    kwok = offers["kwok"]
    assert kwok["available"] is bool(installed)
    assert kwok["versions"] == installed


@pytest.mark.parametrize("provider", ["kind", "k3d", "kwok"])
def test_a_version_the_provider_does_not_offer_is_refused_before_anything_is_queued(
    person, provider
):
    ada = person()
    offer = next(o for o in ada.get("/providers").json()["providers"] if o["provider"] == provider)
    body = assert_problem(
        create(ada, provider=provider, kubernetes_version="v1.99.0"), 422, "validation_error"
    )
    if offer["available"]:
        assert body["detail"] == (
            f"Kubernetes v1.99.0 is not offered by {provider} here; available: "
            f"{', '.join(offer['versions'])}"
        )
        assert body["available"] == offer["versions"]
    else:
        assert body["detail"] == f"{provider} is not available here: {offer['reason']}"
    assert ada.get("/clusters").json()["clusters"] == []


MISSING_CLI = {"provisioner": {"k3d_bin": "/nonexistent/k3d"}}


@pytest.mark.parametrize("platform_overrides", [MISSING_CLI], ids=["no-k3d"])
def test_a_provider_without_its_cli_is_unavailable_and_refused(person):
    ada = person()
    offers = {o["provider"]: o for o in ada.get("/providers").json()["providers"]}
    k3d = offers["k3d"]
    assert not k3d["available"] and k3d["versions"] == []
    assert k3d["reason"] == (
        "/nonexistent/k3d: command not found (PROVISIONER_K3D_BIN=/nonexistent/k3d)"
    )
    body = assert_problem(create(ada, provider="k3d"), 422, "validation_error")
    assert body["detail"] == f"k3d is not available here: {k3d['reason']}"
    assert ada.get("/clusters").json()["clusters"] == []
