"""What every hosted page shares: the layout (CSS, the test-mode line, ``#message`` and
``#error``), escaping, dates and amounts as the pages show them, the 404 page, and the test cards the
forms offer."""

import datetime
import html

TEST_CARDS = (
    ("pm_card_visa", "Visa •••• 4242 (succeeds)"),
    ("pm_card_mastercard", "Mastercard •••• 4444 (succeeds)"),
    ("pm_card_chargeCustomerFail", "Visa •••• 0341 (attaches, charges fail)"),
)


CSS = """
body{font-family:system-ui,sans-serif;max-width:720px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em} section{border:1px solid #ddd;border-radius:8px;padding:1em;margin:1em 0}
.msg{background:#eef6ee;border:1px solid #9c9;padding:.5em 1em;border-radius:6px}
.err{background:#fbeaea;border:1px solid #d99;padding:.5em 1em;border-radius:6px}
button{padding:.4em 1em;margin:.2em 0} dt{font-weight:bold} .muted{color:#777}
"""


def esc(v):
    return html.escape("" if v is None else str(v), quote=True)


def fmt_ts(ts):
    if not ts:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_amount(amount, currency):
    if amount is None:
        return ""
    return "%s %.2f" % ((currency or "usd").upper(), amount / 100.0)


def layout(title, body, flash=None, error=None):
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>%s</title>"
        "<style>%s</style></head><body>" % (esc(title), CSS)
    ]
    parts.append("<p class='muted'>Stripe emulator — test mode</p>")
    if flash:
        parts.append("<p class='msg' id='message' role='status'>%s</p>" % esc(flash))
    if error:
        parts.append("<p class='err' id='error' role='alert'>%s</p>" % esc(error))
    parts.append(body)
    parts.append("</body></html>")
    return "".join(parts)


def not_found_page(handler, what):
    handler.send_html(404, layout("Not found", "<h1>Not found</h1><p>%s</p>" % esc(what)))
