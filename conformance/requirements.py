"""The requirement index: every requirement item of spec/*.md as data.

A requirement item is one Markdown list item of the shape documented in spec/README.md::

    - **HB-2** (MUST): The server MUST ...

which may wrap onto continuation lines indented by two spaces. ``spec/requirements.json`` is
generated from the Markdown (``python -m conformance.requirements --write``) and checked against it
(``--check``, and a test), so no requirement exists in one and not the other. Checks cite these IDs;
``load_requirements()`` is how the harness looks them up.

Exit codes of the command: 0 done or up to date, 1 ``--check`` found the index stale,
2 usage error or a malformed spec.
"""

from __future__ import annotations

import argparse
import enum
import functools
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from conformance import _resources

__all__ = [
    "INDEX_FILE",
    "Level",
    "Requirement",
    "SpecFormatError",
    "build_index",
    "load_requirements",
    "parse_markdown",
    "parse_spec",
    "protocol_version",
    "requirements_by_id",
]

INDEX_FILE = "requirements.json"

_ITEM = re.compile(r"^- \*\*(?P<id>[A-Z]+-[1-9][0-9]*)\*\* \((?P<level>[A-Z]+)\): (?P<text>\S.*)$")
# Anything that starts like an item but does not match _ITEM is a typo, not prose (an indented
# code block, 4+ spaces, is an example and stays out).
_ITEM_LIKE = re.compile(r"^ {0,3}[-*] \*\*[A-Z]+-[0-9]+\*\*")
_CONTINUATION = "  "
_FENCE = re.compile(r"^\s*(```|~~~)")
_VERSION = re.compile(r"^# .*, version (?P<version>[0-9]+\.[0-9]+)\s*$", re.MULTILINE)


class Level(enum.StrEnum):
    """A requirement's level: its strongest BCP 14 keyword (spec/README.md)."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class SpecFormatError(ValueError):
    """The spec Markdown does not have the documented shape (e.g. a malformed requirement item)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement item: ``id`` (``HB-2``), ``level``, spec ``file`` name, one-line ``text``."""

    id: str
    level: Level
    file: str
    text: str

    @property
    def family(self) -> str:
        return self.id.rsplit("-", 1)[0]

    @property
    def withdrawn(self) -> bool:
        """Withdrawn requirements keep their ID and are marked *withdrawn* (spec/README.md)."""
        return self.text.startswith("*withdrawn*")


def parse_markdown(text: str, file: str) -> list[Requirement]:
    """The requirement items of one spec file, in document order."""
    found: list[Requirement] = []
    current: dict[str, str] | None = None
    in_fence = False

    def flush() -> None:
        nonlocal current
        if current is not None:
            found.append(
                Requirement(current["id"], Level(current["level"]), file, current["text"].strip())
            )
            current = None

    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if current is not None and line.startswith(_CONTINUATION) and line.strip():
            current["text"] += " " + line.strip()
            continue
        flush()
        match = _ITEM.match(line)
        if match is not None:
            if match["level"] not in Level.__members__:
                raise SpecFormatError(
                    f"{file}:{number}: level {match['level']!r} is not MUST, SHOULD or MAY"
                )
            current = match.groupdict()
        elif _ITEM_LIKE.match(line):
            raise SpecFormatError(
                f"{file}:{number}: malformed requirement item, expected "
                f"'- **ID** (LEVEL): text': {line.strip()[:80]}"
            )
    flush()
    return found


def spec_files(spec_dir: Path) -> list[Path]:
    """The clause files, in name order (which is their section order)."""
    return sorted(spec_dir.glob("*.md"))


def parse_spec(spec_dir: Path | None = None) -> list[Requirement]:
    """Every requirement item of every spec file, by file then document order."""
    root = spec_dir if spec_dir is not None else _resources.spec_dir()
    found: list[Requirement] = []
    for path in spec_files(root):
        found += parse_markdown(path.read_text(encoding="utf-8"), path.name)
    seen: dict[str, str] = {}
    for req in found:
        if req.id in seen:
            raise SpecFormatError(f"{req.id} is defined twice: in {seen[req.id]} and {req.file}")
        seen[req.id] = req.file
    return found


def protocol_version(spec_dir: Path | None = None) -> str:
    """``MAJOR.MINOR`` from the title of spec/README.md (``..., version 1.0``)."""
    root = spec_dir if spec_dir is not None else _resources.spec_dir()
    match = _VERSION.search((root / "README.md").read_text(encoding="utf-8"))
    if match is None:
        raise SpecFormatError("spec/README.md has no title ending in ', version MAJOR.MINOR'")
    return match["version"]


def build_index(spec_dir: Path | None = None) -> str:
    """The text of requirements.json for the Markdown as it is now (stable, ends in a newline)."""
    index = {
        "$comment": "Generated by `python -m conformance.requirements --write`; do not edit.",
        "protocolVersion": protocol_version(spec_dir),
        "requirements": [asdict(r) for r in parse_spec(spec_dir)],
    }
    return json.dumps(index, indent=2, ensure_ascii=False) + "\n"


@functools.cache
def _load(path: Path) -> tuple[Requirement, ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Requirement(r["id"], Level(r["level"]), r["file"], r["text"]) for r in data["requirements"]
    )


def load_requirements(spec_dir: Path | None = None) -> list[Requirement]:
    """The requirements of the shipped index (spec/requirements.json)."""
    root = spec_dir if spec_dir is not None else _resources.spec_dir()
    return list(_load(root / INDEX_FILE))


def requirements_by_id(spec_dir: Path | None = None) -> dict[str, Requirement]:
    return {r.id: r for r in load_requirements(spec_dir)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.requirements",
        description="Generate or check spec/requirements.json from spec/*.md.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="regenerate requirements.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when requirements.json is stale")
    parser.add_argument("--spec-dir", type=Path, default=None, help="default: the shipped spec/")
    args = parser.parse_args(argv)
    root: Path = args.spec_dir if args.spec_dir is not None else _resources.spec_dir()
    try:
        fresh = build_index(root)
    except (SpecFormatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = root / INDEX_FILE
    if args.write:
        target.write_text(fresh, encoding="utf-8")
        print(f"wrote {target} ({len(parse_spec(root))} requirements)")
        return 0
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != fresh:
            print(
                f"{target} is stale: run python -m conformance.requirements --write",
                file=sys.stderr,
            )
            return 1
        print(f"{target} is up to date")
        return 0
    sys.stdout.write(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
