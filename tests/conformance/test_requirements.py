"""The requirement index agrees with the spec Markdown, and the Markdown keeps its conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance import _resources
from conformance.requirements import (
    INDEX_FILE,
    Level,
    Requirement,
    SpecFormatError,
    build_index,
    load_requirements,
    main,
    parse_markdown,
    parse_spec,
    spec_files,
)

SPEC = _resources.spec_dir()
REQUIREMENTS = parse_spec(SPEC)

# BCP 14 keywords by the level they give an item (spec/README.md, "Conventions").
_KEYWORD_LEVEL = {
    "MUST": Level.MUST,
    "REQUIRED": Level.MUST,
    "SHALL": Level.MUST,
    "SHOULD": Level.SHOULD,
    "RECOMMENDED": Level.SHOULD,
    "MAY": Level.MAY,
    "OPTIONAL": Level.MAY,
}
_KEYWORD = re.compile(r"\b(" + "|".join(_KEYWORD_LEVEL) + r")\b")
_STRENGTH = [Level.MAY, Level.SHOULD, Level.MUST]


def _families() -> dict[str, str]:
    """File name -> family prefix, from the table in spec/README.md."""
    table = re.findall(
        r"^\| \[(?P<file>[0-9]{2}-[a-z-]+\.md)\]\([^)]*\) \| `(?P<family>[A-Z]+)` \|",
        (SPEC / "README.md").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    return dict(table)


FAMILIES = _families()


def test_index_equals_the_markdown() -> None:
    assert (SPEC / INDEX_FILE).read_text(encoding="utf-8") == build_index(SPEC), (
        "spec/requirements.json is stale: run python -m conformance.requirements --write"
    )


def test_load_requirements_reads_the_index() -> None:
    assert load_requirements() == REQUIREMENTS
    assert json.loads((SPEC / INDEX_FILE).read_text())["protocolVersion"] == "1.0"


def test_ids_are_unique() -> None:
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) == len(set(ids))


def test_every_clause_file_has_a_family_and_requirements() -> None:
    clause_files = {p.name for p in spec_files(SPEC)} - {"README.md"}
    assert set(FAMILIES) == clause_files
    assert {r.file for r in REQUIREMENTS} == clause_files


@pytest.mark.parametrize("req", REQUIREMENTS, ids=lambda r: r.id)
def test_id_family_matches_its_file(req: Requirement) -> None:
    assert req.family == FAMILIES[req.file]


@pytest.mark.parametrize("req", REQUIREMENTS, ids=lambda r: r.id)
def test_level_is_the_strongest_keyword(req: Requirement) -> None:
    keywords = _KEYWORD.findall(_without_code(req.text))
    assert keywords, f"{req.id} has no BCP 14 keyword in capitals"
    strongest = max((_KEYWORD_LEVEL[k] for k in keywords), key=_STRENGTH.index)
    assert req.level is strongest, (
        f"{req.id} is ({req.level}) but its strongest keyword is {strongest}"
    )


def _without_code(text: str) -> str:
    return re.sub(r"`[^`]*`", "", text)


def _prose_lines(path: Path) -> list[tuple[int, str]]:
    """Lines of ``path`` outside requirement items, code blocks and README's conventions section."""
    lines = path.read_text(encoding="utf-8").splitlines()
    prose: list[tuple[int, str]] = []
    in_fence = in_item = in_conventions = False
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if line.startswith("## "):
            in_conventions = path.name == "README.md" and line.strip() == "## Conventions"
        if line.startswith("- **") and re.match(r"- \*\*[A-Z]+-[0-9]+\*\* \(", line):
            in_item = True
            continue
        if in_item and line.startswith("  ") and line.strip():
            continue
        in_item = False
        if in_fence or in_conventions or line.startswith("    "):
            continue
        prose.append((number, _without_code(line)))
    return prose


@pytest.mark.parametrize("path", spec_files(SPEC), ids=lambda p: p.name)
def test_no_keyword_in_capitals_outside_requirement_items(path: Path) -> None:
    offending = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in _prose_lines(path)
        if _KEYWORD.search(line)
    ]
    assert not offending, "\n".join(offending)


def test_every_referenced_id_exists() -> None:
    known = {r.id for r in REQUIREMENTS}
    reference = re.compile(r"\b(?:" + "|".join(sorted(set(FAMILIES.values()))) + r")-[0-9]+\b")
    missing = [
        f"{path.name}: {ref}"
        for path in spec_files(SPEC)
        for ref in reference.findall(path.read_text(encoding="utf-8"))
        if ref not in known
    ]
    assert not missing, "\n".join(missing)


def test_continuation_lines_join_the_item() -> None:
    text = (
        "Intro.\n\n"
        "- **HB-1** (MUST): The server MUST send\n"
        "  a heartbeat,\n"
        "  every time.\n"
        "- **HB-2** (MAY): It MAY rest.\n"
        "\n"
        "  Not a continuation: the item ended at the blank line.\n"
    )
    assert parse_markdown(text, "06-heartbeat.md") == [
        Requirement(
            "HB-1", Level.MUST, "06-heartbeat.md", "The server MUST send a heartbeat, every time."
        ),
        Requirement("HB-2", Level.MAY, "06-heartbeat.md", "It MAY rest."),
    ]


def test_items_in_code_blocks_are_examples() -> None:
    text = "```\n- **HB-1** (MUST): example\n```\n\n    - **HB-2** (MUST): indented example\n"
    assert parse_markdown(text, "x.md") == []


@pytest.mark.parametrize(
    "line",
    [
        "- **HB-1** (MUST) no colon",
        "- **HB-1** (WILL): unknown level",
        "- **HB-1**: no level",
    ],
)
def test_malformed_items_are_errors(line: str) -> None:
    with pytest.raises(SpecFormatError, match=r"x\.md:1"):
        parse_markdown(line + "\n", "x.md")


def test_duplicate_ids_are_errors(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# P, version 1.0\n")
    (tmp_path / "a.md").write_text("- **A-1** (MUST): X MUST.\n")
    (tmp_path / "b.md").write_text("- **A-1** (MAY): Y MAY.\n")
    with pytest.raises(SpecFormatError, match="A-1 is defined twice"):
        parse_spec(tmp_path)


def test_check_and_write_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("# P, version 2.3\n")
    (tmp_path / "a.md").write_text("- **A-1** (MUST): X MUST\n  wrap.\n")
    assert main(["--check", "--spec-dir", str(tmp_path)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--write", "--spec-dir", str(tmp_path)]) == 0
    assert main(["--check", "--spec-dir", str(tmp_path)]) == 0
    written = json.loads((tmp_path / INDEX_FILE).read_text())
    assert written["protocolVersion"] == "2.3"
    assert written["requirements"] == [
        {"id": "A-1", "level": "MUST", "file": "a.md", "text": "X MUST wrap."}
    ]
    (tmp_path / "a.md").write_text("- **A-1** (MUST): X MUST wrap.\n- **A-2** (MAY): Y MAY.\n")
    assert main(["--check", "--spec-dir", str(tmp_path)]) == 1


def test_malformed_spec_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("# P, version 1.0\n")
    (tmp_path / "a.md").write_text("- **A-1** (MUST) X\n")
    assert main(["--check", "--spec-dir", str(tmp_path)]) == 2
    assert "a.md:1: malformed requirement item" in capsys.readouterr().err
