# Sourced by scripts/run and scripts/test: make .venv and install the pinned
# requirements, skipping pip when nothing changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements-installed
wanted="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
# A machine whose pip config lists a local file:// index lacking some projects gets
# one "Location ... is ignored: it is neither a file nor a directory" warning per
# project (about a hundred): pip has no switch for that one message, so exactly
# that line is dropped; every other warning and error still shows, and the exit
# status is pip's own.
pip_install() {
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  pip_install --upgrade pip
  pip_install -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
