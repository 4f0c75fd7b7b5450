"""The hosted pages' front door: which module answers a ``/p/...`` path - ``pages.py`` (the
customer portal, Checkout), ``invoice_pages.py`` (hosted invoices and their PDFs), ``payment_pages.py``
(3D Secure, credit note PDFs) - and the index page."""

from . import invoice_pages, page_html, pages, payment_pages


def index_page(app):
    return page_html.layout(
        "Stripe emulator", "<h1>Stripe emulator</h1><p>API base: <code>%s</code></p>" % page_html.esc(app.public_base())
    )


def handle(app, handler, method, path, query, body):
    parts = [p for p in path.split("/") if p]
    # /p/session/<id>[/<action>] ; /p/checkout/<id>[/pay] ; /p/invoice/<id>[/pdf|/pay]
    # /p/authenticate/<pi_ or seti_ id>[/complete|/fail] ; /p/credit_note/<id>/pdf
    if len(parts) >= 3 and parts[1] == "session":
        return pages.portal(app, handler, method, parts[2], parts[3] if len(parts) > 3 else None, query, body)
    if len(parts) >= 3 and parts[1] == "checkout":
        return pages.checkout(app, handler, method, parts[2], parts[3] if len(parts) > 3 else None, query, body)
    if len(parts) >= 3 and parts[1] == "invoice":
        return invoice_pages.handle(app, handler, method, parts[2], parts[3] if len(parts) > 3 else None, body)
    if len(parts) >= 3 and parts[1] == "authenticate":
        return payment_pages.handle_authentication(app, handler, method, parts[2], parts[3] if len(parts) > 3 else None)
    if len(parts) >= 3 and parts[1] == "credit_note":
        return payment_pages.handle_credit_note(app, handler, parts[2], parts[3] if len(parts) > 3 else None)
    return page_html.not_found_page(handler, path)
