#!/usr/bin/env bash
# Regenerate clinic_sms/i18n/clinic_sms.pot with Odoo's own export, then merge it into every
# translation (da.po, de.po, pl.po) with msgmerge: new terms arrive untranslated, changed ones fuzzy
# (with their previous text), vanished ones are dropped. Translate what it lists, then `make test`
# (tests/test_i18n.py and clinic_sms/tests/test_i18n.py) says whether anything is still missing.
#
#   tools/update_i18n.sh            (through tools/dev.sh, which finds Odoo, the virtualenv, PostgreSQL)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${VENV:-}" ] || [ -z "${ODOO_SRC:-}" ]; then
  exec "$here/tools/dev.sh" i18n "$@"
fi
command -v msgmerge >/dev/null || { echo "clinic_sms: msgmerge is missing (apt-get install gettext)" >&2; exit 1; }

i18n="$here/clinic_sms/i18n"
db="clinic_i18n_$$_$(date +%s)"
addons="$here"
[ -d "$ODOO_SRC/addons" ] && addons="$addons,$ODOO_SRC/addons"
addons="$addons,$ODOO_SRC/odoo/addons"
conf=$(mktemp)
pot=$(mktemp --suffix=.pot)
cleanup() {
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  rm -rf "$conf" "$pot" "$HOME/.local/share/Odoo/filestore/$db"
}
trap cleanup EXIT
# Without demo data: the demo's records are not the add-on's terms.
cat > "$conf" <<CONF
[options]
addons_path = $addons
db_name = $db
without_demo = True
CONF

echo "clinic_sms: installing the add-on into a scratch database $db"
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -i clinic_sms --stop-after-init \
  --no-http --log-level=warn
echo "clinic_sms: exporting the template"
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" i18n export -c "$conf" -d "$db" -o "$pot" clinic_sms
cp "$pot" "$i18n/clinic_sms.pot"
for po in "$i18n"/*.po; do
  msgmerge --quiet --update --backup=none --previous "$po" "$i18n/clinic_sms.pot"
  printf '%s: ' "$(basename "$po")"
  msgfmt --statistics -o /dev/null "$po"
done
echo "clinic_sms: translate the untranslated and fuzzy terms above (remove the fuzzy flag when done)."
