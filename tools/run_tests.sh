#!/usr/bin/env bash
# The whole test suite: the pure tests of clinic_sms/core (plain pytest, no Odoo), then the Odoo
# tests of clinic_sms/tests (pytest-odoo) on a database created for this run and dropped after it,
# then tests_lifecycle/ (installing into a calendar with appointments, and upgrading the last
# release with odoo-bin -u, on databases of their own).
# Called by `make test` through tools/dev.sh, which provides VENV, ODOO_SRC and a running PostgreSQL.
# Extra arguments go to both pytest runs (e.g. -k dispatch, -x).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
: "${VENV:?}" "${ODOO_SRC:?}"
py="$VENV/bin/python"
db="clinic_test_$$_$(date +%s)"
addons="$here"
[ -d "$ODOO_SRC/addons" ] && addons="$addons,$ODOO_SRC/addons"
addons="$addons,$ODOO_SRC/odoo/addons"
# A free port of its own, so that several runs (and a running demo) never share one.
port=${CLINIC_SMS_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
conf=$(mktemp)
log=$(mktemp)
cleanup() {
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  rm -rf "$conf" "$log" "$HOME/.local/share/Odoo/filestore/$db"
}
trap cleanup EXIT
cat > "$conf" <<CONF
[options]
addons_path = $addons
db_name = $db
http_interface = 127.0.0.1
http_port = $port
without_demo = True
CONF

cd "$here"
echo "== pure tests (tests/)"
"$py" -m pytest -p no:odoo -p no:cacheprovider tests "$@"
pure=$?
[ "$pure" -eq 5 ] && pure=0  # no pure test matches the selection (e.g. -k stateful)

echo "== Odoo tests (clinic_sms/tests) on a new database $db"
if ! "$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -i clinic_sms --stop-after-init \
    --log-level=warn >"$log" 2>&1; then
  cat "$log"
  echo "clinic_sms: installing the add-on into $db failed" >&2
  exit 1
fi
if grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$log"; then
  echo "clinic_sms: installing the add-on into $db logged errors" >&2
  exit 1
fi
PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest -p no:cacheprovider \
  --odoo-config="$conf" --odoo-database="$db" --odoo-http --odoo-log-level=warn \
  clinic_sms/tests "$@"
odoo_rc=$?
# A -k may select tests of one run only: "no tests collected" (5) is fine for the other one.
if [ "$pure" -eq 5 ] && [ "$odoo_rc" -ne 5 ]; then pure=0; fi
if [ "$odoo_rc" -eq 5 ] && [ "$pure" -ne 5 ]; then odoo_rc=0; fi

echo "== install and upgrade with odoo-bin (tests_lifecycle/, a few minutes)"
VENV="$VENV" ODOO_SRC="$ODOO_SRC" "$py" -m pytest -p no:odoo -p no:cacheprovider tests_lifecycle "$@"
life=$?
[ "$life" -eq 5 ] && life=0  # extra arguments (-k …) selected none of these tests

echo "== summary: pure tests exit $pure, Odoo tests exit $odoo_rc, install and upgrade exit $life"
[ "$pure" -eq 0 ] && [ "$odoo_rc" -eq 0 ] && [ "$life" -eq 0 ]
