# Sourced by scripts that need a Python environment of their own beside the uv workspace
# (a server or SDK that pins versions the workspace does not use).
#
#   source scripts/lib/side-venv.sh
#   side_venv VENV REQUIREMENTS [install|sync] [EXECUTABLE]
#
# Creates VENV with uv (installing uv with pip first if it is missing) and installs
# REQUIREMENTS into it: `sync` makes the environment exactly the file (a fully pinned list),
# `install` (the default) adds to it. It does nothing when VENV/bin/EXECUTABLE (default python)
# exists and the requirements file is unchanged since the last install (a sha256 stamp).
# Sets UV to the uv command line it used.

side_venv_log() { printf '\n==> %s\n' "$*" >&2; }

side_venv_uv() {
  if command -v uv >/dev/null 2>&1; then
    UV=(uv)
  else
    python3 -m uv --version >/dev/null 2>&1 || { side_venv_log "installing uv"; python3 -m pip install --quiet uv; }
    UV=(python3 -m uv)
  fi
}

side_venv() {
  local venv="$1" reqs="$2" mode="${3:-install}" exe="${4:-python}"
  local stamp="$venv/.requirements.sha256" want
  side_venv_uv
  want="$(sha256sum "$reqs" | cut -d' ' -f1)"
  if [ -x "$venv/bin/$exe" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  side_venv_log "creating the environment $venv (from $reqs)"
  "${UV[@]}" venv --quiet --allow-existing --python 3.11 "$venv"
  if [ "$mode" = sync ]; then
    "${UV[@]}" pip sync --quiet --python "$venv/bin/python" "$reqs"
  else
    "${UV[@]}" pip install --quiet --python "$venv/bin/python" -r "$reqs"
  fi
  echo "$want" > "$stamp"
}
