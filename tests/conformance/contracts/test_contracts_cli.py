"""``ssegate contracts``: the sub-command family and how it plugs into ``ssegate``."""

from __future__ import annotations

import pytest

from conformance.cli import build_parser, main
from conformance.contracts import cli


def test_contracts_is_an_ssegate_command() -> None:
    args = build_parser().parse_args(["contracts", "validate", "x.json"])
    assert args.contracts_command == "validate"
    assert args.contract == "billing.invoice-send-progress@1"
    assert callable(args.handler)


def test_without_a_subcommand_it_prints_help_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["contracts"]) == cli.EXIT_USAGE
    assert "validate" in capsys.readouterr().err
