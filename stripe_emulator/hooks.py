"""Hooks: the few places where a lower module lets a higher one react, without importing it.

The emulator's modules import downwards only, never in a circle (stripe_emulator/README.md, *Layout*;
``tests/emulator/test_structure.py`` fails on a circle).  Where the logic itself recurses, the lower module
fires a hook here and the higher one registers the hook's one handler, with ``@hooks.handler(name)``, when
it is imported:

==================================  ==========================================  ====================================
hook (arguments)                    fired by                                    handled by
==================================  ==========================================  ====================================
``invoice_intent_succeeded``        ``payments``: an invoice's PaymentIntent    ``invoicing``: the invoice is paid
(app, intent, at)                   succeeded outside an invoice run (the API,  (and its subscription reacts)
                                    the 3D Secure page, a settled SEPA debit,
                                    a capture)
``invoice_intent_failed``           ``payments``: such an attempt failed        ``invoicing``: a failed attempt is
(app, intent, at)                                                               recorded
``invoice_intent_requires_action``  ``payments``: such an attempt needs 3D      ``invoicing``:
(app, intent)                       Secure                                      ``invoice.payment_action_required``
``pending_update_paid``             ``invoicing``: the invoice holding a        ``pending_updates``: the update
(app, subscription)                 subscription's pending update was paid      takes effect
``subscription_canceled``           ``subscriptions``: a subscription was       ``schedules``: the schedule managing
(app, subscription, at)             canceled                                    it is canceled too
==================================  ==========================================  ====================================

``app.Emulator`` imports every handling module and refuses to start while a hook has no handler
(``missing_handlers``); registering an unknown hook, or a second handler, raises at import.
"""

HOOKS = (
    "invoice_intent_succeeded",
    "invoice_intent_failed",
    "invoice_intent_requires_action",
    "pending_update_paid",
    "subscription_canceled",
)

_handlers = {}


def handler(name):
    """Register the decorated function as the one handler of hook ``name``."""
    if name not in HOOKS:
        raise ValueError("unknown hook %r (hooks.HOOKS lists them)" % name)

    def register(function):
        if name in _handlers:
            raise ValueError("hook %r is already handled by %s" % (name, _handlers[name].__qualname__))
        _handlers[name] = function
        return function

    return register


def fire(name, *arguments):
    """Run hook ``name``'s handler (lock held, as its caller's)."""
    return _handlers[name](*arguments)


def missing_handlers():
    """The hooks nobody registered a handler for (empty once every handling module is imported)."""
    return [name for name in HOOKS if name not in _handlers]
