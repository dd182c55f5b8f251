"""Screenshots of the running demo for the module's description page (clinic_sms/static/description/).

    tools/dev.sh screenshots [--base http://127.0.0.1:8069] [--lang da_DK] [--out DIR]

Logs in to a running demo (`make demo`) as admin, opens each page of SHOTS, waits for its view,
and saves it as a PNG, scaled to 1280 px wide and palette-compressed so the add-on stays small.
Uses Debian's chromium through playwright (its own browser download is not needed); tools/dev.sh
runs it in a small virtualenv of its own (requirements-shots.txt), because playwright needs a newer
greenlet than the one Odoo pins. Look at the PNG files afterwards.
"""

import argparse
import io
import json
import pathlib
import sys
import urllib.request

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parent.parent
WIDTH = 1280

#: (file name, page: a path or `kind:xmlid` of a demo record, what must be on it, clicks to make, caption)
SHOTS = [
    ("calendar", "/odoo/calendar", ".o_calendar_renderer", [], "The week in the calendar"),
    (
        "appointment",
        "event:event_d1_hannah",
        ".o_form_view",
        [".o_notebook .nav-link:text-is('SMS')"],
        "An appointment and its SMS",
    ),
    (
        "sms_log",
        "/odoo/action-clinic_sms.clinic_sms_message_action",
        ".o_list_view",
        [
            ".o_searchview_dropdown_toggler",
            ".o_group_by_menu .o_menu_item:text-is('Status')",
            ".o_searchview_dropdown_toggler",
            ".o_group_header:has-text('Skipped')",
            ".o_group_header:has-text('Failed')",
            ".o_group_header:has-text('Expired')",
            ".o_group_header:has-text('Buffered')",
        ],
        "The SMS log by state",
    ),
    (
        "patient",
        "partner:patient_katarzyna",
        ".o_form_view",
        [".o_notebook .nav-link:text-is('SMS')"],
        "A patient's SMS number, opt-out and SMS",
    ),
    (
        "template",
        "template:template_reminder",
        ".o_form_view",
        [],
        "A template, its placeholders and its counter",
    ),
    (
        "settings",
        "/odoo/action-clinic_sms.clinic_sms_settings_action",
        ".o_setting_container",
        [],
        "Settings",
    ),
    (
        "credits",
        "/odoo/action-clinic_sms.clinic_sms_credit_action",
        ".o_view_controller",
        [],
        "The credit ledger",
    ),
]


def rpc(base, session, model, method, *args):
    """A JSON-RPC call with the browser's session cookie."""
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"model": model, "method": method, "args": args, "kwargs": {}},
    }
    request = urllib.request.Request(
        f"{base}/web/dataset/call_kw",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Cookie": f"session_id={session}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        result = json.load(answer)
    if "error" in result:
        raise RuntimeError(result["error"]["data"]["message"])
    return result["result"]


def resolve(base, session, target):
    """A page path: as given, or the form of a demo record named by its XML id (`kind:xmlid`)."""
    if target.startswith("/"):
        return target
    kind, xmlid = target.split(":")
    model = {"event": "calendar.event", "partner": "res.partner", "template": "clinic.sms.template"}[kind]
    found = rpc(
        base,
        session,
        "ir.model.data",
        "search_read",
        [["module", "=", "clinic_sms"], ["name", "=", xmlid]],
        ["res_id"],
    )
    if not found:
        raise SystemExit(f"no demo record clinic_sms.{xmlid}: is this the demo database?")
    res_id = found[0]["res_id"]
    return f"/odoo/{model}/{res_id}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8069")
    parser.add_argument("--out", default=str(ROOT / "clinic_sms" / "static" / "description"))
    parser.add_argument("--prefix", default="screenshot_")
    parser.add_argument("--lang", default="en_US", help="the admin's language while shooting")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--only", nargs="*", help="names of SHOTS to take (default: all)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        page = browser.new_page(
            viewport={"width": 1440, "height": 900},
            device_scale_factor=1,
            timezone_id="Europe/Copenhagen",  # the clinic's: the web client shows times in the browser's
            locale=args.lang.replace("_", "-"),
        )
        page.goto(f"{args.base}/web/login")
        page.fill("input[name=login]", args.login)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/odoo**", timeout=60000)
        session = next(c["value"] for c in page.context.cookies() if c["name"] == "session_id")
        uid = rpc(args.base, session, "res.users", "search", [["login", "=", args.login]])
        lang_before = rpc(args.base, session, "res.users", "read", uid, ["lang"])[0]["lang"]
        rpc(args.base, session, "res.users", "write", uid, {"lang": args.lang})
        try:
            for name, target, selector, clicks, caption in SHOTS:
                if args.only and name not in args.only:
                    continue
                page.goto(f"{args.base}{resolve(args.base, session, target)}", wait_until="load")
                page.wait_for_selector(f".o_action_manager {selector}", timeout=30000)
                page.wait_for_timeout(1500)
                for click in clicks:
                    page.locator(click).first.click(timeout=15000)
                    page.wait_for_timeout(700)
                page.wait_for_timeout(1500)  # let the view finish its asynchronous rendering
                png = page.screenshot()
                image = Image.open(io.BytesIO(png)).convert("RGB")
                image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
                image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                path = out / f"{args.prefix}{name}.png"
                image.save(path, optimize=True)
                print(
                    f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  "
                    f"{path.stat().st_size // 1024} KB  {caption}"
                )
        finally:
            rpc(args.base, session, "res.users", "write", uid, {"lang": lang_before})
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
