#!/usr/bin/env bash
# Runs one of the project's Python scripts in the project's virtual environment, creating the venv and installing the
# pinned requirements first when they are missing or changed (a fresh machine needs nothing installed by hand):
#   bash scripts/python/run.sh [-r REQUIREMENTS] SCRIPT.py ARGS…
#   bash scripts/python/run.sh --install [-r REQUIREMENTS]      only prepare the venv (CI, or before going offline)
# The venv: $STREAMLOOP_PYTHON_VENV, default ${TMPDIR:-/tmp}/streamloop-python-venv. REQUIREMENTS: a file of this
# folder or a path; default requirements.txt (everything the reference scripts import); bench:ml uses
# requirements-bench.txt (numpy, scikit-learn, threadpoolctl). Needs python3 with its venv module.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${STREAMLOOP_PYTHON_VENV:-${TMPDIR:-/tmp}/streamloop-python-venv}"
log() { echo "[python/run.sh] $*" >&2; }

requirements="$HERE/requirements.txt"
install_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--requirements)
      [ $# -ge 2 ] || { log "$1 needs a requirements file"; exit 2; }
      if [ -f "$2" ]; then requirements="$2"; else requirements="$HERE/$2"; fi
      shift 2 ;;
    --install) install_only=true; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ -f "$requirements" ] || { log "no requirements file $requirements"; exit 2; }
if ! $install_only && [ $# -eq 0 ]; then
  echo "usage: $0 [-r REQUIREMENTS] SCRIPT.py ARGS… | $0 --install [-r REQUIREMENTS]" >&2; exit 2
fi

command -v python3 >/dev/null || { log "python3 not found: install Python 3 (Debian: apt-get install python3 python3-venv)"; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  log "creating the project's Python venv in $VENV"
  python3 -m venv "$VENV" || { log "python3 -m venv $VENV failed: install Python's venv module (Debian: apt-get install python3-venv)"; exit 1; }
fi

# A stamp per requirements file holds the hash of this folder's requirements files it was installed from: a changed
# pin reinstalls, an unchanged one costs nothing.
stamp="$VENV/.streamloop-$(basename "$requirements" .txt)"
wanted="$(cat "$requirements" "$HERE"/requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  log "installing $(basename "$requirements") into $VENV (pip, pinned versions)"
  (cd "$(dirname "$requirements")" && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements") \
    || { log "pip install -r $requirements failed (see above): is PyPI reachable? the venv is $VENV"; exit 1; }
  echo "$wanted" > "$stamp"
fi

$install_only && exit 0
exec "$VENV/bin/python" "$@"
