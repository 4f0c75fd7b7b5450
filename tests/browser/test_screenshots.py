"""`make screenshots`: a screenshot of every page of the web app into docs/images/ (the README's
Tour shows them), at desktop size and, for the main pages, at a phone's. Re-run it when pages
change. Not part of the default suite (marker `screenshots`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.scenes import build_world, visit
from tests.plugins.browser import PHONE, watch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.screenshots]

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DESKTOP = {"width": 1200, "height": 800}
# The pages also shown at a phone's size in the README.
ON_A_PHONE = ("pricing", "dashboard", "members")


def test_screenshots_of_every_page(live_server, browser, published, catalog):
    world = build_world(live_server.url.rsplit(":", 1)[1], stripe=catalog)
    IMAGES.mkdir(parents=True, exist_ok=True)
    problems, taken = [], []
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        context = browser.new_context(viewport=size, device_scale_factor=1)
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems += watch(page)
        signed_in: dict = {}
        for scene in world.scenes:
            if suffix and scene.name not in ON_A_PHONE:
                continue
            visit(page, scene, world, signed_in, settle="networkidle")
            path = IMAGES / f"{scene.name}{suffix}.png"
            page.screenshot(path=str(path), full_page=True)
            taken.append(path)
        context.close()
    assert not problems, problems
    print("\n".join(str(path.relative_to(IMAGES.parents[1])) for path in taken))
