"""Credit notes (``/v1/credit_notes``); the logic is ``credit_notes.py``."""

from .. import credit_notes, stored_objects
from ..resources import filter_by, filter_by_created, p_str, paginate, public
from ..routing import handles


def _invoice(app, params):
    return stored_objects.get_or_404(app, "invoices", p_str(params, "invoice", required=True), "invoice", "invoice")


@handles("POST /v1/credit_notes")
def credit_note_create(app, request, params):
    return public(credit_notes.issue(app, _invoice(app, params), params))


@handles("GET /v1/credit_notes/preview")
def credit_note_preview(app, request, params):
    """The credit note ``params`` would issue; nothing is stored."""
    return public(credit_notes.compute(app, _invoice(app, params), params))


@handles("GET /v1/credit_notes/preview/lines")
def credit_note_preview_lines(app, request, params):
    note = credit_notes.compute(app, _invoice(app, params), params)
    return paginate(public(note["lines"]["data"]), params, "/v1/credit_notes/preview/lines")


@handles("GET /v1/credit_notes/{id}")
def credit_note_retrieve(app, request, params, note_id):
    return public(stored_objects.get_or_404(app, "credit_notes", note_id, "credit_note"))


@handles("POST /v1/credit_notes/{id}")
def credit_note_update(app, request, params, note_id):
    return public(
        credit_notes.update(app, stored_objects.get_or_404(app, "credit_notes", note_id, "credit_note"), params)
    )


@handles("POST /v1/credit_notes/{id}/void")
def credit_note_void(app, request, params, note_id):
    return public(credit_notes.void(app, stored_objects.get_or_404(app, "credit_notes", note_id, "credit_note")))


@handles("GET /v1/credit_notes/{credit_note}/lines")
def credit_note_lines(app, request, params, note_id):
    note = stored_objects.get_or_404(app, "credit_notes", note_id, "credit_note")
    return paginate(public(note["lines"]["data"]), params, "/v1/credit_notes/%s/lines" % note_id)


@handles("GET /v1/credit_notes")
def credit_note_list(app, request, params):
    items = filter_by_created(filter_by(app.state.all("credit_notes"), params, "customer", "invoice"), params)
    return paginate([public(n) for n in items], params, "/v1/credit_notes")
