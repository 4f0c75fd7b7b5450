"""The admin of people: users, memberships, invitations, API tokens and the login lockout's records
(companies themselves: onboarding/admin.py)."""

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.admin import AccessFailureLogAdmin as AxesAccessFailureLogAdmin
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib import admin, messages

from companies.lockout import login_unlock
from companies.members import invitation_revoke
from companies.models import ApiToken, Invitation, Membership, User


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "company__slug"]
    raw_id_fields = ["user", "company"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "is_active", "is_staff", "date_joined"]
    search_fields = ["email"]
    exclude = ["password"]
    actions = ["unlock_sign_in"]

    @admin.action(description="Unlock sign-in (forget recent failed logins, from every address)")
    def unlock_sign_in(self, request, queryset):
        count = login_unlock(emails=queryset.values_list("email", flat=True))
        self.message_user(request, f"Sign-in unlocked; {count} locked account/address pair(s) cleared.")

    def has_add_permission(self, request):
        # People get accounts by signing up or accepting an invitation, with a password they chose;
        # this form would make one without. Operators: `manage.py createsuperuser`.
        return False


# --- Login lockout (django-axes): its own admin, with the unlock actions operators need ------------


class UnlockActions:
    """Deleting one attempt row unlocks only that (account, address) pair; these also lift the
    hourly ceilings, for the whole account or the whole address."""

    actions = ["unlock_accounts", "unlock_addresses"]

    @admin.action(description="Unlock these accounts (from every address)")
    def unlock_accounts(self, request, queryset):
        emails = set(queryset.values_list("username", flat=True))
        count = login_unlock(emails=emails)
        self.message_user(request, f"Unlocked {len(emails)} account(s); {count} locked pair(s) cleared.")

    @admin.action(description="Unlock these addresses (for every account)")
    def unlock_addresses(self, request, queryset):
        addresses = set(queryset.values_list("ip_address", flat=True))
        count = login_unlock(ip_addresses=addresses)
        self.message_user(request, f"Unlocked {len(addresses)} address(es); {count} locked pair(s) cleared.")


@admin.register(AccessAttempt)
class AccessAttemptAdmin(UnlockActions, AxesAccessAttemptAdmin):
    actions = [*AxesAccessAttemptAdmin.actions, *UnlockActions.actions]


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(UnlockActions, AxesAccessFailureLogAdmin):
    pass

    def has_add_permission(self, request):
        # People get accounts by signing up or accepting an invitation, with a password they chose;
        # this form would make one without. Operators: `manage.py createsuperuser`.
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "company", "role", "created_at", "sent_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "company__slug"]
    readonly_fields = [f.name for f in Invitation._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        count = sum(
            invitation_revoke(company_id=company_id, invitation_id=pk)
            for pk, company_id in queryset.values_list("pk", "company_id")
        )
        self.message_user(request, f"{count} invitation(s) revoked.", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "expires_at"]
    readonly_fields = ["prefix", "key_hash", "user", "created_at", "last_used_at"]
