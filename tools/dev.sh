#!/usr/bin/env bash
# Developer entry point behind the Makefile: finds Odoo, builds the virtualenv, starts PostgreSQL
# when none answers, then runs the demo, the tests, the linters or the benchmarks.
#
#   tools/dev.sh demo | test | lint | bench | bench-scale | shell
#
# Environment: ODOO_SRC (Odoo 19.0 source tree, default /opt/odoo), CLINIC_SMS_VENV (virtualenv,
# default ~/.cache/clinic_sms/venv-pyX.Y), PYTHON (interpreter used to create it, default python3),
# PGHOST/PGPORT/PGUSER (default: the local socket, current user), DEMO_DB (default clinic_demo),
# HTTP_PORT (default 8069).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo}
PYTHON=${PYTHON:-python3}
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV=${CLINIC_SMS_VENV:-$HOME/.cache/clinic_sms/venv-py$pyver}
DEMO_DB=${DEMO_DB:-clinic_demo}
HTTP_PORT=${HTTP_PORT:-8069}
export PGUSER=${PGUSER:-$(id -un)}

die() { echo "clinic_sms: $*" >&2; exit 1; }

need_odoo() {
  if [ ! -f "$ODOO_SRC/odoo-bin" ] || [ ! -d "$ODOO_SRC/odoo" ]; then
    die "no Odoo 19.0 source tree at ODOO_SRC=$ODOO_SRC.
Install one (git clone --depth 1 -b 19.0 https://github.com/odoo/odoo \"$ODOO_SRC\", or any checkout
that has odoo-bin, odoo/ and addons/), or point ODOO_SRC at it, then run this again."
  fi
  local ver
  ver=$(sed -n 's/^version_info = (\([0-9]*\),.*/\1/p' "$ODOO_SRC/odoo/release.py" | tr -d '\r')
  [ "$ver" = "19" ] || die "ODOO_SRC=$ODOO_SRC is Odoo $ver, clinic_sms needs Odoo 19.0."
}

# Community addons live in addons/ (odoo/odoo layout); the nightly layout keeps them in odoo/addons.
addons_path() {
  local p="$here"
  [ -d "$ODOO_SRC/addons" ] && p="$p,$ODOO_SRC/addons"
  p="$p,$ODOO_SRC/odoo/addons"
  echo "$p"
}

need_venv() {
  need_odoo
  local stamp="$VENV/.clinic_sms-stamp" want
  want=$(cat "$ODOO_SRC/requirements.txt" "$here/requirements.txt" "$here/requirements-test.txt" | sha1sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  echo "clinic_sms: preparing the virtualenv $VENV (first run takes a few minutes)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local tmp; tmp=$(mktemp -d)
  # cbor2 builds only with setuptools<81; python-ldap needs system headers and is not used here.
  echo 'setuptools<81' > "$tmp/constraints.txt"
  tr -d '\r' < "$ODOO_SRC/requirements.txt" | grep -viE '^python-ldap' > "$tmp/odoo-requirements.txt"
  "$VENV/bin/pip" install -q --upgrade pip wheel 'setuptools<81' 2>&1 | grep -v '^WARNING: Location' || true
  PIP_CONSTRAINT="$tmp/constraints.txt" PIP_BUILD_CONSTRAINT="$tmp/constraints.txt" \
    "$VENV/bin/pip" install -q \
    -r "$tmp/odoo-requirements.txt" -r "$here/requirements-test.txt"
  rm -rf "$tmp"
  echo "$want" > "$stamp"
}

need_pg() {
  if pg_isready -q 2>/dev/null; then return; fi
  if command -v pg_lsclusters >/dev/null 2>&1; then
    local cluster
    cluster=$(pg_lsclusters -h 2>/dev/null | head -n1 | awk '{print $1" "$2}')
    if [ -n "$cluster" ]; then
      echo "clinic_sms: starting PostgreSQL cluster $cluster"
      # shellcheck disable=SC2086
      pg_ctlcluster --skip-systemctl-redirect $cluster start || true
    fi
  fi
  if ! pg_isready -q 2>/dev/null; then
    # No packaged cluster: run a private one under ~/.cache, owned by the current user.
    local data="$HOME/.cache/clinic_sms/pgdata" bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$bindir" ] || die "PostgreSQL is not running and not installed (apt-get install postgresql)."
    if [ "$(id -u)" = 0 ]; then
      die "PostgreSQL is not running; start it (pg_ctlcluster <version> main start) and run this again."
    fi
    [ -d "$data" ] || "$bindir/initdb" -D "$data" -A trust -U "$PGUSER" >/dev/null
    "$bindir/pg_ctl" -D "$data" -l "$data/log" -o "-k /tmp" -w start
  fi
  pg_isready -q || die "PostgreSQL does not answer."
  # Odoo connects as the current user: make sure that role exists and may create databases.
  if ! psql -d postgres -tAc "select 1" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      su postgres -c "createuser -s $PGUSER" 2>/dev/null || true
    fi
  fi
  psql -d postgres -tAc "select 1" >/dev/null 2>&1 || die "cannot connect to PostgreSQL as $PGUSER."
}

odoo() {
  "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" "$@"
}

cmd=${1:-}
shift || true
# The end-to-end gateway tests run a real Kannel (bearerbox, smsbox and the fake SMSC of
# kannel-extras). Installed from Debian when missing and allowed; otherwise the tests fail saying so.
need_kannel() {
  if command -v bearerbox >/dev/null && [ -x /usr/lib/kannel/test/fakesmsc ]; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "clinic_sms: installing the Debian packages kannel and kannel-extras for the gateway tests"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras >/dev/null
  else
    echo "clinic_sms: Kannel is missing; the Kannel tests will fail (sudo apt-get install kannel kannel-extras)" >&2
  fi
}

case "$cmd" in
  venv) need_venv ;;
  demo)
    need_venv; need_pg
    state=$(psql -d "$DEMO_DB" -tAc "select state from ir_module_module where name='clinic_sms'" 2>/dev/null || true)
    if [ "$state" = "installed" ]; then
      echo "clinic_sms: updating clinic_sms in database $DEMO_DB"
      odoo -d "$DEMO_DB" -u clinic_sms --stop-after-init --log-level=warn
    else
      echo "clinic_sms: creating database $DEMO_DB with clinic_sms and its demo data (about a minute)"
      dropdb --if-exists "$DEMO_DB"
      odoo -d "$DEMO_DB" -i clinic_sms --with-demo --load-language=da_DK,de_DE,pl_PL \
        --stop-after-init --log-level=warn
      "$VENV/bin/python" "$ODOO_SRC/odoo-bin" shell --addons-path="$(addons_path)" -d "$DEMO_DB" \
        --no-http --log-level=warn >/dev/null <<'PY'
env.ref("base.user_admin").write({"password": "admin", "lang": "en_US"})
env.cr.commit()
PY
    fi
    echo "clinic_sms: serving http://127.0.0.1:$HTTP_PORT (login admin / admin); Ctrl+C stops it"
    exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" -d "$DEMO_DB" \
      --db-filter="^$DEMO_DB\$" --http-interface=127.0.0.1 --http-port="$HTTP_PORT" "$@"
    ;;
  test)
    need_venv; need_pg; need_kannel
    VENV="$VENV" ODOO_SRC="$ODOO_SRC" exec "$here/tools/run_tests.sh" "$@"
    ;;
  lint)
    need_venv
    cd "$here"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    "$VENV/bin/pylint" --rcfile="$here/.pylintrc" clinic_sms
    ;;
  bench)
    need_venv; need_pg
    ODOO_SRC="$ODOO_SRC" VENV="$VENV" ADDONS_PATH="$(addons_path)" exec "$VENV/bin/python" "$here/bench/run.py" "$@"
    ;;
  bench-scale)
    need_venv; need_pg
    cd "$here"
    ODOO_SRC="$ODOO_SRC" VENV="$VENV" ADDONS_PATH="$(addons_path)" exec "$VENV/bin/python" -m bench.scale "$@"
    ;;
  *)
    die "usage: tools/dev.sh demo|test|lint|bench|bench-scale|venv"
    ;;
esac
