"""The real kind and k3d CLIs (built by scripts/install-cluster-tools.sh): every flag the
drivers pass is one the CLI accepts, and a real create, which cannot pull a node image here,
ends in a CLI error carrying the CLI's own message within the deadline."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pyk8s_contracts.clusters import Provider
from pyk8s_provisioner.drivers import CliError, CreateSpec, K3dDriver, KindDriver, Timeouts

ROOT = Path(__file__).resolve().parents[3]
TIMEOUTS = Timeouts(wait_seconds=60, grace_seconds=30, short_seconds=60)


def real_binary(tool: str) -> str | None:
    configured = os.environ.get(f"PYK8S_REAL_{tool.upper()}")
    if configured:
        return configured
    built = ROOT / ".tools" / "bin" / tool
    if built.exists():
        return str(built)
    return shutil.which(tool)


def real_driver(provider: Provider):
    binary = real_binary(provider.value)
    if binary is None:
        pytest.skip(
            f"the real {provider.value} CLI is not installed: run "
            "scripts/install-cluster-tools.sh (or set PYK8S_REAL_"
            f"{provider.value.upper()})"
        )
    kind = KindDriver if provider == Provider.KIND else K3dDriver
    return kind(binary, TIMEOUTS)


def calls(driver, work_dir: Path) -> list[tuple[list[str], list[str]]]:
    """Every command line the driver runs, with the words naming its subcommand."""
    spec = CreateSpec("demo-1a2b3c4d", "v1.31.0", 2, work_dir)
    name = spec.runtime_name
    argvs = [
        driver.create_argv(spec),
        driver.delete_argv(name, work_dir),
        driver.list_argv(),
        driver.kubeconfig_argv(name),
    ]
    return [(argv, [word for word in argv[1:3] if not word.startswith("-")]) for argv in argvs]


def flags(argv: list[str]) -> list[str]:
    return [word.split("=", 1)[0] for word in argv if word.startswith("-")]


@pytest.mark.parametrize("provider", [Provider.KIND, Provider.K3D])
def test_every_flag_the_driver_passes_is_in_the_real_help(provider, tmp_path):
    driver = real_driver(provider)
    for argv, command in calls(driver, tmp_path):
        if provider == Provider.K3D and command[:2] == ["cluster", "create"]:
            command = ["cluster", "create"]
        help_text = subprocess.run(
            [driver.binary, *command, "--help"],
            capture_output=True,
            check=False,
            text=True,
            timeout=30,
        ).stdout
        assert "Usage" in help_text, (command, help_text)
        for flag in flags(argv):
            assert f"{flag} " in help_text or f"{flag}=" in help_text or f"{flag}," in help_text, (
                f"{' '.join(command)} does not know {flag}"
            )


@pytest.mark.parametrize("provider", [Provider.KIND, Provider.K3D])
def test_the_real_cli_parses_each_full_command_line(provider, tmp_path):
    """With --help appended the CLI parses every flag and value, then only prints usage: an
    unknown flag or a bad value would fail instead."""
    driver = real_driver(provider)
    for argv, _ in calls(driver, tmp_path):
        done = subprocess.run(
            [*argv, "--help"], capture_output=True, check=False, text=True, timeout=30
        )
        assert done.returncode == 0, (argv, done.stderr)
        assert "Usage" in done.stdout


@pytest.mark.parametrize("provider", [Provider.KIND, Provider.K3D])
async def test_a_real_create_fails_with_the_cli_message_within_the_deadline(
    provider, runtime_name, tmp_path
):
    driver = real_driver(provider)
    name = runtime_name()
    started = time.monotonic()
    with pytest.raises(CliError) as failure:
        await driver.create(CreateSpec(name, None, 0, tmp_path / name))
    elapsed = time.monotonic() - started
    message = str(failure.value)
    print(f"real {provider.value} create failed after {elapsed:.1f}s: {message[:200]}")
    assert elapsed < TIMEOUTS.create_seconds
    assert "pull" in message.lower()
    assert message.startswith(("ERROR", "ERRO", "FATA"))
