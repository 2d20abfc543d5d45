from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from .models import ApiToken, User
from .services import password_changed


class PasswordSetByStaffForm(AdminPasswordChangeForm):
    """The admin's "set password": like the owner's own change, it revokes every API token of the account
    and tells the owner."""

    def save(self, commit=True):
        with transaction.atomic():
            user = super().save(commit=commit)
            if commit:
                password_changed(user)
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "history", "billing_state", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name", "billing_name", "gstin"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "history")}),
        ("Billing", {"fields": ("billing_name", "billing_address", "billing_state", "gstin")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ["history"]

    @admin.display(description="Whole history")
    def history(self, user):
        """Orders, payments, refunds, servers, tickets and every change, on one page."""
        if user.pk is None:
            return "—"
        return format_html('<a href="{}">orders, servers, tickets</a>', reverse("backoffice:customer", args=[user.pk]))

    # Who may do what is for superusers to decide: a staff user allowed to edit customers
    # must not be able to make themselves (or a friend) staff, superuser, or give permissions.
    PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
    # Nor take over a superuser or a colleague (CONTRACT "Accounts, more"): whoever sets an account's
    # email or password owns it, and unticking is_active locks its owner out.
    TAKEOVER_FIELDS = ("email", "is_active")
    change_password_form = PasswordSetByStaffForm

    @staticmethod
    def account_protected_from(request, user) -> bool:
        """A superuser's account, or another staff member's, is for superusers alone to change."""
        if user is None or request.user.is_superuser:
            return False
        return user.is_superuser or (user.is_staff and user.pk != request.user.pk)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += self.PRIVILEGE_FIELDS
        if self.account_protected_from(request, obj):
            readonly += [*self.TAKEOVER_FIELDS, "password_note"]
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.account_protected_from(request, obj):
            return fieldsets
        # The password widget links to the set-password form; show a plain note instead.
        return [
            (name, {**options, "fields": tuple("password_note" if f == "password" else f for f in options["fields"])})
            for name, options in fieldsets
        ]

    @admin.display(description="Password")
    def password_note(self, user):
        return "Only a superuser can change this password."

    def user_change_password(self, request, id, form_url=""):
        if self.account_protected_from(request, self.get_object(request, unquote(id))):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self.account_protected_from(request, obj)

    def get_deleted_objects(self, objs, request):
        """The bulk delete action asks this, not has_delete_permission, per account: a protected one among
        the selection is named as needing a permission, and nothing is deleted."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if any(self.account_protected_from(request, user) for user in objs):
            perms_needed = {*perms_needed, "superuser (to delete a superuser or another staff member)"}
        return deleted, model_count, perms_needed, protected


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff find and revoke (delete) a customer's tokens here. They can never create one
    for someone else, nor read a key: only its prefix is stored."""

    list_display = ["prefix", "user", "name", "created_at", "expires_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "prefix"]
    search_help_text = "Email or the token's first characters"
    fields = ["user", "prefix", "name", "created_at", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
