#!/usr/bin/env bash
# Set up everything a fresh machine needs to run ClaimWatch: a venv with the project installed
# (extras chosen by the caller), Node.js for the dev IPFS node, and the node's npm packages.
# Idempotent and quick when nothing changed (a stamp records what was installed).
#   ops/bootstrap.sh demo   -> runtime + dev services (broker, Redis binary) + IPFS node
#   ops/bootstrap.sh test   -> the above + training/export (torch) + test tools
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-demo}"
mkdir -p .run

say() { printf '[bootstrap] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_install() {
  command -v apt-get >/dev/null || { say "need: $* (no apt-get here; install them and re-run)"; exit 1; }
  say "installing with apt: $*"
  as_root apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. Python >= 3.11 with venv.
py=""
for cand in python3.12 python3.11 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    py="$cand"; break
  fi
done
[ -n "$py" ] || { apt_install python3 python3-venv python3-pip; py=python3; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($py --version)"
  "$py" -m venv .venv 2>/dev/null || { apt_install python3-venv; "$py" -m venv .venv; }
fi

# 2. The project and its extras, reinstalled only when pyproject.toml or the profile changed.
case "$profile" in
  demo) extras="dev-services" ;;
  test) extras="dev-services,train,test" ;;
  *) say "unknown profile $profile (demo|test)"; exit 2 ;;
esac
stamp=".venv/.claimwatch-$profile"
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing claimwatch[$extras] into .venv (log: .run/pip.log)"
  if ! .venv/bin/python -m pip install --disable-pip-version-check -q -e ".[$extras]" >.run/pip.log 2>&1; then
    grep -v "is ignored: it is neither" .run/pip.log | tail -30; exit 1
  fi
  echo "$want" >"$stamp"
fi

# 3. Node.js + the js-ipfs dev node (offline IPFS with the Kubo RPC API).
if [ -f ops/ipfs-node/package.json ]; then
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  lock_sum="$(sha256sum ops/ipfs-node/package-lock.json | cut -c1-16)"
  if [ "$(cat ops/ipfs-node/node_modules/.claimwatch-stamp 2>/dev/null)" != "$lock_sum" ]; then
    say "installing the js-ipfs dev node (npm, about 2 minutes the first time)"
    (cd ops/ipfs-node && npm install --omit=optional --no-audit --no-fund --loglevel=error >../../.run/npm.log 2>&1) \
      || { tail -30 .run/npm.log; exit 1; }
    echo "$lock_sum" >ops/ipfs-node/node_modules/.claimwatch-stamp
  fi
fi
say "ready ($profile)"
