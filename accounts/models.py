import secrets

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

# Lowercase letters and digits without the look-alikes (0/o, 1/l/i): a code read
# aloud or typed from a screenshot still works. 10 of 31 symbols is about 49 bits,
# so valid codes cannot be found by guessing.
REFERRAL_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
REFERRAL_CODE_LENGTH = 10


def new_referral_code():
    return "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


BILLING_NAME_MAX = 100
BILLING_ADDRESS_MAX = 300


class UserManager(BaseUserManager):
    """Email is the login; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, email):
        # Sign-in ignores case, as mail servers do: "Alice@Example.com" is alice@example.com.
        # One account per address whatever its case (user_email_ci_unique), on that index.
        return self.alias(email_lower=Lower("email")).get(email_lower=email.strip().lower())

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # Billing details printed on tax invoices; the state decides CGST+SGST vs IGST.
    # Limits as a GST invoice needs them (the e-invoice schema's legal name is 100
    # characters; an address fits three printed lines): checkout and the API agree.
    billing_name = models.CharField(max_length=BILLING_NAME_MAX, blank=True)
    billing_address = models.TextField(max_length=BILLING_ADDRESS_MAX, blank=True)
    billing_state = models.CharField(max_length=100, blank=True)
    gstin = models.CharField("GSTIN", max_length=15, blank=True)
    # The customer's affiliate code, in their /r/<code>/ link: given to every user
    # when the row is written and never changed, so links already shared keep working.
    referral_code = models.CharField(max_length=16, unique=True, default=new_referral_code, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ApiToken(models.Model):
    """A key for `Authorization: Token <key>`. The key itself is never stored: only its
    SHA-256 digest (to find it) and its first characters (for people to recognise it).
    The key has 160 random bits, so a fast digest cannot be reversed by guessing."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the customer uses it for.")
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="Refused (401) from this moment on.")

    class Meta:
        db_table = "api_tokens"
        verbose_name = "API token"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="api_token_expires_after_creation"
            )
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    def is_expired(self, now=None):
        return self.expires_at <= (now or timezone.now())
