#!/usr/bin/env bash
# The test command (README, "Test"): make sure what the suite talks to is here and
# running, then run every test. Extra arguments go to `cargo nextest run`.
#
# The suite needs: cargo-nextest; PostgreSQL on 127.0.0.1:5432 with a `test` database
# (override with COUNTERSIGN_TEST_POSTGRES_URL); oathtool (an independent OTP
# generator); Debian's chromium and the npm packages in crates/server/tests/browser
# (Playwright); FreeRADIUS's radclient (Debian freeradius-utils; a RADIUS client);
# Duo Unix's login_duo and Perl's Net::Duo (Debian login-duo, libnet-duo-perl; Duo clients);
# aiosmtpd (PyPI; a real SMTP server); schemathesis (PyPI; the API fuzzer). Each is
# started or installed here when missing; where that needs root or a package manager
# that is not there, it stops and says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "test.sh: $*" >&2; }
need_root() {
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    say "missing: $1 — install it (as root: $2) and run again"; exit 1
  fi
}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -z "${COUNTERSIGN_TEST_POSTGRES_URL:-}" ]; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    say "PostgreSQL is down on 127.0.0.1:5432: starting it"
    need_root "a running PostgreSQL" "pg_ctlcluster <version> main start"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || { say "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
  # Each PostgreSQL test makes a schema of its own inside the database `test`.
  psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || createdb -h 127.0.0.1 -U postgres test
fi

command -v cargo-nextest >/dev/null || { say "installing cargo-nextest"; cargo install cargo-nextest --locked; }
missing=""
command -v oathtool >/dev/null || missing="$missing oathtool"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v radclient >/dev/null || missing="$missing freeradius-utils"
[ -x /usr/sbin/login_duo ] || missing="$missing login-duo"
perl -MNet::Duo -e1 2>/dev/null || missing="$missing libnet-duo-perl"
if [ -n "$missing" ]; then
  say "installing Debian packages:$missing"
  need_root "$missing" "apt-get install -y$missing"
  as_root apt-get update -qq && as_root apt-get install -y -qq $missing
fi
{ [ -d crates/server/tests/browser/node_modules/playwright-core ] && [ -d crates/server/tests/browser/node_modules/axe-core ]; } \
  || (cd crates/server/tests/browser && npm ci --no-audit --no-fund)
python3 -c "import aiosmtpd" 2>/dev/null || { say "installing aiosmtpd"; python3 -m pip install --quiet "aiosmtpd==1.4.6"; }
command -v schemathesis >/dev/null || { say "installing schemathesis"; python3 -m pip install --quiet "schemathesis==4.32.5"; }

exec cargo nextest run --workspace --locked "$@"
