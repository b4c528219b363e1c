#!/usr/bin/env bash
# countersign and privacyIDEA side by side on this machine, in one run
# (docs/benchmarks.md, "Side by side with privacyIDEA"):
#
#   scripts/compare-privacyidea.sh
#
# Installs privacyIDEA 3.14 and gunicorn from PyPI into a temporary virtualenv, configures
# it (SQLite database, fresh encryption key, audit keys and pepper, an admin, an SQL user
# resolver over a small SQLite user table, a realm) and serves it with gunicorn (one
# worker per core); starts countersign on an embedded SQLite database, request limits off;
# both on loopback. Then `countersign-compare` makes the same users and tokens on both,
# drives both with the same client and prints one table. Everything started is stopped
# and the temporary directory removed at the end.
#
# Settings (environment):
#   COMPARE_SECONDS=10                 seconds measured per scenario and server
#   COMPARE_WARMUP=2                   unmeasured seconds before each
#   COMPARE_PASSWORD_CONCURRENCY=4     static-password checks at once
#   COMPARE_HOTP_CONCURRENCY=16        HOTP checks at once (one token each)
#   COMPARE_COUNTERSIGN_PORT=18480     loopback ports
#   COMPARE_PRIVACYIDEA_PORT=18481
#   COMPARE_ARGON2="19456 2 1"         Argon2id memory (KiB), passes, lanes: both servers
#   COUNTERSIGN_BIN_DIR=target/release prebuilt countersign and countersign-compare (skips
#                                      the cargo build)
#   COMPARE_PI_VENV=                   an existing virtualenv with privacyidea==3.14 and
#                                      gunicorn (skips the install)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=${COMPARE_SECONDS:-10}
WARMUP=${COMPARE_WARMUP:-2}
PW_C=${COMPARE_PASSWORD_CONCURRENCY:-4}
HOTP_C=${COMPARE_HOTP_CONCURRENCY:-16}
CS_PORT=${COMPARE_COUNTERSIGN_PORT:-18480}
PI_PORT=${COMPARE_PRIVACYIDEA_PORT:-18481}
read -r ARGON_M ARGON_T ARGON_P <<<"${COMPARE_ARGON2:-19456 2 1}"
CORES=$(nproc)
USERS=$((PW_C > HOTP_C ? PW_C : HOTP_C))

say() { echo "compare: $*" >&2; }

for port in "$CS_PORT" "$PI_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "port $port is in use; set COMPARE_COUNTERSIGN_PORT / COMPARE_PRIVACYIDEA_PORT"
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/countersign-compare.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

random() { python3 -c "import secrets, string; print(''.join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range($1)))"; }

# countersign and the driver.
if [[ -n ${COUNTERSIGN_BIN_DIR:-} ]]; then
  BIN=$(cd "$COUNTERSIGN_BIN_DIR" && pwd)
else
  say "building countersign and countersign-compare (release)"
  (cd "$ROOT" && cargo build --release --locked -p countersign -p countersign-authenticator)
  BIN=$ROOT/target/release
fi
for b in countersign countersign-compare; do
  [[ -x $BIN/$b ]] || { say "$BIN/$b is missing"; exit 1; }
done

# privacyIDEA.
if [[ -n ${COMPARE_PI_VENV:-} ]]; then
  VENV=$COMPARE_PI_VENV
else
  say "installing privacyidea==3.14 and gunicorn into a temporary virtualenv"
  python3 -m venv "$WORK/venv"
  VENV=$WORK/venv
  "$VENV/bin/pip" install --quiet --disable-pip-version-check privacyidea==3.14 gunicorn
fi
PI=$WORK/pi
mkdir -p "$PI"
PI_ADMIN_PASSWORD=$(random 24)
cat >"$PI/pi.cfg" <<EOF
SQLALCHEMY_DATABASE_URI = 'sqlite:///$PI/privacyidea.sqlite'
SECRET_KEY = '$(random 48)'
PI_PEPPER = '$(random 48)'
PI_ENCFILE = '$PI/enckey'
PI_AUDIT_KEY_PRIVATE = '$PI/audit-private.pem'
PI_AUDIT_KEY_PUBLIC = '$PI/audit-public.pem'
PI_LOGFILE = '$PI/privacyidea.log'
PI_LOGLEVEL = 30
PI_BASE_URL = 'http://127.0.0.1:$PI_PORT'
# Token PINs (the spass token's password) as Argon2id with countersign's parameters.
PI_HASH_ALGO_LIST = ['argon2']
PI_HASH_ALGO_PARAMS = {'argon2__type': 'ID', 'argon2__memory_cost': $ARGON_M, 'argon2__rounds': $ARGON_T, 'argon2__parallelism': $ARGON_P}
EOF
export PRIVACYIDEA_CONFIGFILE=$PI/pi.cfg
pim() { "$VENV/bin/pi-manage" "$@" >>"$PI/pi-manage.log" 2>&1 || { say "pi-manage $*: failed"; tail -20 "$PI/pi-manage.log" >&2; exit 1; }; }
say "configuring privacyIDEA"
pim setup create_enckey
pim setup create_audit_keys
pim setup create_tables
# Write-ahead logging, as countersign uses on SQLite: the gunicorn workers write at once.
python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$PI/privacyidea.sqlite"
pim admin add admin -p "$PI_ADMIN_PASSWORD"
python3 - "$PI/users.sqlite" "$USERS" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, email TEXT)")
for i in range(int(sys.argv[2])):
    for name in (f"pw{i}", f"otp{i}"):
        db.execute("INSERT INTO users (username, email) VALUES (?, ?)", (name, f"{name}@bench.example"))
db.commit()
EOF
cat >"$PI/resolver.conf" <<EOF
{'Driver': 'sqlite', 'Server': '', 'Database': '$PI/users.sqlite', 'Table': 'users', 'Limit': 500, 'Editable': 0,
 'Map': '{"userid": "id", "username": "username", "email": "email"}'}
EOF
pim config resolver create benchusers sqlresolver "$PI/resolver.conf"
pim config realm create bench benchusers
pim config realm set_default bench

say "starting privacyIDEA (gunicorn, $CORES workers) on 127.0.0.1:$PI_PORT"
"$VENV/bin/gunicorn" --workers "$CORES" --bind "127.0.0.1:$PI_PORT" --chdir "$PI" \
  --error-logfile "$PI/gunicorn.log" --no-control-socket \
  'privacyidea.app:create_app(config_name="production", silent=True)' &
PI_PID=$!
PIDS+=("$PI_PID")

say "starting countersign on 127.0.0.1:$CS_PORT"
CS_ADMIN_TOKEN=csa_$(random 36)
mkdir -p "$WORK/cs"
COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN=$CS_ADMIN_TOKEN COUNTERSIGN_LIMITS_ENABLED=false \
  COUNTERSIGN_LOG_LEVEL=warn COUNTERSIGN_DATA_DIR=$WORK/cs \
  COUNTERSIGN_PASSWORD_MEMORY_KIB=$ARGON_M COUNTERSIGN_PASSWORD_ITERATIONS=$ARGON_T \
  COUNTERSIGN_PASSWORD_PARALLELISM=$ARGON_P \
  "$BIN/countersign" serve --listen "127.0.0.1:$CS_PORT" 2>"$WORK/cs/countersign.log" &
CS_PID=$!
PIDS+=("$CS_PID")

say "measuring: ${SECONDS_PER}s per scenario and server (after ${WARMUP}s of warm-up)"
COUNTERSIGN_ADMIN_TOKEN=$CS_ADMIN_TOKEN COMPARE_PI_ADMIN_PASSWORD=$PI_ADMIN_PASSWORD \
  "$BIN/countersign-compare" \
  --countersign "http://127.0.0.1:$CS_PORT" --countersign-pid "$CS_PID" \
  --privacyidea "http://127.0.0.1:$PI_PORT" --privacyidea-pid "$PI_PID" --pi-realm bench \
  --users "$USERS" --password-concurrency "$PW_C" --hotp-concurrency "$HOTP_C" \
  --seconds "$SECONDS_PER" --warmup "$WARMUP" --clk-tck "$(getconf CLK_TCK)"

# The parameters each side actually stored, read back from the databases.
python3 - "$WORK/cs/countersign.db" "$PI/privacyidea.sqlite" <<'EOF'
import re, sqlite3, sys
def params(db, sql):
    try:
        row = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(sql).fetchone()
    except sqlite3.Error as e:
        return f"unreadable ({e})"
    m = row and re.match(r"\$(argon2\w+)\$v=\d+\$([^$]+)\$", row[0] or "")
    return f"{m.group(1)} {m.group(2)}" if m else "unknown"
print()
print("Argon2 as stored: countersign", params(sys.argv[1], "SELECT hash FROM static_passwords LIMIT 1") + ";",
      "privacyIDEA", params(sys.argv[2], "SELECT pin_hash FROM token WHERE tokentype = 'spass' LIMIT 1"))
EOF
echo "Machine: $CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')); both servers and the client on it."
