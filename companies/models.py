"""Companies (tenants), their domains, the people in them, and API tokens. All in the public schema."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin


class Company(TenantMixin):
    class Status(models.TextChoices):
        PROVISIONING = "provisioning"
        ACTIVE = "active"
        FAILED = "failed"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=63, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROVISIONING)
    failure_reason = models.TextField(blank=True)
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    # The onboarding's lease (saas_platform/leases.py): renewed by each step; once it runs out while
    # the company is still provisioning, beat's sweep publishes the onboarding again.
    onboarding_leased_at = models.DateTimeField(default=timezone.now)
    onboarding_requeues = models.PositiveIntegerField(default=0)
    # The price whose trial onboarding starts, as chosen at sign-up (the pricing page's plan and
    # interval); empty: STRIPE_TRIAL_PRICE_LOOKUP_KEY.
    trial_price_lookup_key = models.CharField(max_length=100, blank=True)
    # The promotion code typed at sign-up (as the local copy spells it), applied when the trial starts;
    # empty: none.
    signup_promotion_code = models.CharField(max_length=255, blank=True)

    # Entitlement snapshot, recomputed whenever billing state changes (subscriptions.entitlements),
    # so gates read it from the row the tenant middleware already loaded: zero queries per check.
    paid_access = models.BooleanField(default=False)
    paid_access_until = models.DateTimeField(null=True, blank=True)
    features = models.JSONField(default=list, blank=True)
    limits = models.JSONField(default=dict, blank=True)
    access_reason = models.CharField(max_length=40, default="no_subscription")

    # Schemas are created by the onboarding task, never inside a request.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.slug

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    pass


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str, **extra) -> User:
        """A person's account, always with the password its owner chose: a password-less user
        could never sign up or log in with their own address (companies.members invites instead)."""
        if not password:
            raise ValueError("a user is created only with the password its owner chose")
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        # Operators may create one without a password (`createsuperuser --noinput`) and set it after.
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin"
        MEMBER = "member"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "user"], name="one_membership_per_company")]

    def __str__(self) -> str:
        return f"{self.user} in {self.company} ({self.role})"


class ApiToken(models.Model):
    """A personal API token. Only a hash is stored; the key is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # None only when the owner explicitly asked for a token that never expires.
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Invitation(models.Model):
    """An offer to join a company. No membership (and no user) exists until its owner accepts.

    The accept link is signed over (id, nonce): resending draws a new nonce, which voids older links,
    and nothing secret is stored here.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.company} ({self.role})"


class SignupRequest(models.Model):
    """Remembers an onboarding POST's Idempotency-Key so a retried request returns the same company."""

    key = models.CharField(max_length=255, unique=True)
    request_fingerprint = models.CharField(max_length=64)
    company = models.ForeignKey(Company, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.key} -> {self.company_id}"


class OnboardingStep(models.Model):
    """How long each onboarding step took, for operators and the onboarding metrics."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="onboarding_steps")
    step = models.CharField(max_length=40)
    method = models.CharField(max_length=20, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "step"], name="one_record_per_step")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.step} ({self.method or '-'})"
