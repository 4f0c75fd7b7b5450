"""The committed request spec is what the pinned stripe library describes:
a pin change that changes Stripe's parameters fails here until
``python -m stripe_emulator.specgen`` is run and its diff reviewed."""

import stripe

from stripe_emulator import API_VERSION, routing, specgen
from stripe_emulator.spec import Spec


def test_committed_spec_matches_the_installed_stripe_library():
    assert specgen.SPEC_PATH.read_text(encoding="utf-8") == specgen.render(specgen.build_spec()), (
        "stripe_emulator/stripe_spec.json is stale: run python -m stripe_emulator.specgen"
    )


def test_spec_is_for_the_api_version_the_emulator_speaks():
    spec = Spec.load()
    assert spec.stripe_library == stripe.VERSION
    assert spec.api_version == API_VERSION == stripe.api_version


def test_every_handler_serves_an_operation_stripe_has():
    import stripe_emulator.endpoints  # noqa: F401  (registers the handlers)

    assert routing.HANDLERS
    assert routing.unknown_operations(Spec.load()) == []
