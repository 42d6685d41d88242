#!/usr/bin/env bash
# The test command (README, and .ci/run calls it): install what the tests need, then run them.
#   scripts/test.sh [pytest args]      e.g. scripts/test.sh tests/unit -x
# Tests start their own servers (embedded PostgreSQL, Tansu, gRPC, uvicorn) on 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# Debian packages the tests use: chromium (browser tests), poppler-utils (pdfsig checks report
# signatures independently of pyHanko; pdftoppm renders report pages), bubblewrap and strace
# (the registry's provider sandbox and what names a sandboxed binary's misdeeds).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
command -v pdfsig >/dev/null 2>&1 || missing+=(poppler-utils)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v strace >/dev/null 2>&1 || missing+=(strace)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
      || echo "warning: apt-get could not install ${missing[*]}; the tests that need them will fail" >&2
  else
    echo "warning: ${missing[*]} missing and this is not root: run" \
         "'sudo apt-get install -y ${missing[*]}', or the tests that need them will fail" >&2
  fi
fi

python3 -m pip install -q -e '.[test]' || exit 1

# Two workers (pytest-xdist): the suite mostly waits (database copies, process starts, the
# browser), so two processes on two cores finish far sooner than one. A file's tests stay on one
# worker, in collection order (tests/xdist_scheduling.py); each worker starts its own servers.
# Pass -n 0 to run in this process (e.g. with --pdb).
python3 -m pytest -n 2 --dist loadfile "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a broken suite, not a pass" >&2
  exit 1
fi
exit "$rc"
