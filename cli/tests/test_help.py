"""Every command documents itself with examples; the exit codes are listed in --help."""

import click
from click.testing import CliRunner

from pyk8s_cli.errors import EXIT_CODES
from pyk8s_cli.main import cli


def every_command(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


def test_every_command_has_help_with_examples():
    runner = CliRunner()
    commands = list(every_command(cli))
    assert len(commands) >= 25
    for path, _ in [((), cli), *commands]:
        result = runner.invoke(cli, [*path, "--help"], env={"PYK8S_SERVER": None})
        assert result.exit_code == 0, (path, result.output)
        assert "Examples:" in result.stdout, path
        assert "pyk8s " in result.stdout.split("Examples:")[1], path


def test_root_help_lists_exit_codes_and_env_vars():
    text = CliRunner().invoke(cli, ["--help"]).stdout
    for code in EXIT_CODES:
        assert f"  {code}  " in text
    assert "PYK8S_SERVER" in text and "PYK8S_TOKEN" in text


def test_lists_and_gets_take_an_output_format():
    runner = CliRunner()
    for path in (
        ["whoami"],
        ["team", "list"],
        ["team", "get"],
        ["team", "members"],
        ["team", "invitations"],
        ["cluster", "list"],
        ["cluster", "get"],
    ):
        text = runner.invoke(cli, [*path, "--help"]).stdout
        assert "--output" in text and "table|json|yaml" in text, path


def test_shell_completion_script_and_words():
    runner = CliRunner()
    script = runner.invoke(cli, [], prog_name="pyk8s", env={"_PYK8S_COMPLETE": "bash_source"})
    assert script.exit_code == 0 and "_pyk8s_completion" in script.stdout
    words = runner.invoke(
        cli,
        [],
        prog_name="pyk8s",
        env={
            "_PYK8S_COMPLETE": "bash_complete",
            "COMP_WORDS": "pyk8s cluster cr",
            "COMP_CWORD": "2",
        },
    )
    assert words.exit_code == 0 and "plain,create" in words.stdout.split()
