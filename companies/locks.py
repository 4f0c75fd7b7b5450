"""Row locks on a company, always taken the same way so changes to one company queue up in one order."""

from __future__ import annotations

from companies.models import Company


def company_lock(*, company_id: int) -> Company:
    """Lock the company's row until the caller's transaction ends and return it, freshly read.

    Only the company row is locked (`of=("self",)`), even when a caller joins related rows; every
    change to who is in a company (invitations, acceptances, roles, removals) takes this lock first.
    """
    return Company.objects.select_for_update(of=("self",)).get(pk=company_id)
