# Sourced by scripts/demo and scripts/test: create .venv when missing and install the project
# (editable, with the dev extra) when pyproject.toml or the constraints changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
stamp=.venv/.ssegate-installed
want="$(cat pyproject.toml scripts/constraints.txt 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c scripts/constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
