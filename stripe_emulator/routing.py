"""Which handler serves a request.  Operations come from the request spec
(Stripe's own list of methods and paths); the emulator implements a subset,
each handler registered once with ``@handles("POST /v1/customers")`` under
the operation's exact key.  A path Stripe knows but the emulator does not
implement gets the same 404 as a path Stripe does not know."""

from .errors import unrecognized_url

HANDLERS = {}


def handles(operation_key):
    def register(function):
        if operation_key in HANDLERS:
            raise ValueError("two handlers for %s" % operation_key)
        HANDLERS[operation_key] = function
        return function

    return register


class Route:
    def __init__(self, operation, handler, path_arguments):
        self.operation = operation
        self.handler = handler
        self.path_arguments = path_arguments


def resolve(spec, method, path):
    """The Route for ``method path``; raises Stripe's 404 (or 405 when only
    another method of an emulated path matches)."""
    matches = spec.operations_for(path)
    for operation, arguments in matches:
        if operation.method == method:
            handler = HANDLERS.get(operation.key)
            if handler is None:
                break
            return Route(operation, handler, arguments)
    closest = [op for op, _ in matches if op.template == matches[0][0].template] if matches else []
    if any(op.key in HANDLERS for op in closest):
        raise unrecognized_url(method, path, status=405)
    raise unrecognized_url(method, path)


def unknown_operations(spec):
    """Registered keys the spec does not know (a typo in ``@handles``)."""
    return sorted(key for key in HANDLERS if key not in spec.operations)
