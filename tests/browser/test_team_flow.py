"""An admin runs the team in a real browser: invites a colleague, who accepts from the e-mail's link
in their own browser and logs in; the admin changes the colleague's role, cannot demote the last
admin, and removes the colleague, whose next page is a 404."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from companies.models import Membership
from tests.factories import PASSWORD, CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import host_of, send_owed_emails
from tests.plugins.browser import log_in, watch

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_invites_a_colleague_who_joins_from_the_email_then_changes_and_removes_them(
    live_server, browser, page, published, settings
):
    # `published`: the invitation e-mail is sent below, in this process, never by a worker.
    port = live_server.url.rsplit(":", 1)[1]
    settings.PLATFORM_PORT = port  # the e-mail's link points at this server
    company = CompanyFactory(name="Orbit Crew")
    give_subscription(company, status="active", lookup_key="pro_monthly")
    admin = MembershipFactory(company=company, role="admin")
    site = f"http://{host_of(company)}:{port}"
    problems = watch(page)

    log_in(page, site, admin.user.email, PASSWORD)
    page.click("nav >> text=Members")
    page.wait_for_url(site + "/members/")
    assert page.text_content("#seats").strip() == "1 of 25 seats used"
    page.fill("#id_email", "colleague@orbit.example")
    page.select_option("#id_role", "member")
    page.click("#invite")
    page.wait_for_selector(".message-success:text('Invitation e-mailed to colleague@orbit.example.')")
    assert page.is_visible("#invitations [data-email='colleague@orbit.example']")
    assert page.text_content("#seats").strip() == "2 of 25 seats used"

    # The colleague, in a browser of their own, follows the e-mail's link.
    send_owed_emails()
    link = re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    colleague_context = browser.new_context()
    colleague = colleague_context.new_page()
    colleague_problems = watch(colleague)
    colleague.goto(link)
    assert colleague.text_content("#invitation-role") == "member"
    colleague.fill("#id_new_password1", "plum-kettle-sunrise-42")
    colleague.fill("#id_new_password2", "plum-kettle-sunrise-42")
    colleague.click("#accept")
    colleague.wait_for_url(site + "/")
    colleague.click("#logout")
    colleague.wait_for_url(site + "/login/")
    log_in(colleague, site, "colleague@orbit.example", "plum-kettle-sunrise-42")
    colleague.click("nav >> text=Members")
    assert colleague.is_visible("#members [data-email='colleague@orbit.example']")
    assert not colleague.query_selector("#invite-form")  # members see the team, not the admin forms

    # The admin sees the colleague joined, promotes them, then removes them.
    page.reload()
    membership = Membership.objects.get(company=company, user__email="colleague@orbit.example")
    assert not page.query_selector("#invitations [data-email='colleague@orbit.example']")
    page.select_option(f"#role-{membership.pk}", "admin")
    page.click(f"#save-role-{membership.pk}")
    page.wait_for_selector(".message-success:text('colleague@orbit.example is now admin.')")
    assert page.get_attribute(f"#member-{membership.pk}", "data-role") == "admin"
    page.select_option(f"#role-{membership.pk}", "member")
    page.click(f"#save-role-{membership.pk}")
    page.wait_for_selector(f"#member-{membership.pk}[data-role='member']")

    page.select_option(f"#role-{admin.pk}", "member")  # the last admin
    page.click(f"#save-role-{admin.pk}")
    page.wait_for_selector(f"#member-{admin.pk}-error:text('A company keeps at least one admin.')")

    page.once("dialog", lambda dialog: dialog.accept())  # "Remove colleague@orbit.example from Orbit Crew?"
    page.click(f"#remove-{membership.pk}")
    page.wait_for_selector(".message-success:text('colleague@orbit.example was removed from Orbit Crew.')")
    assert not Membership.objects.filter(pk=membership.pk).exists()
    colleague.reload()
    assert colleague.is_visible("#not-found")  # no longer theirs

    colleague_context.close()
    assert not problems and not colleague_problems, problems + colleague_problems
