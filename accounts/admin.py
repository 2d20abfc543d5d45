from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html

from .models import ApiToken, User


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

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else readonly + list(self.PRIVILEGE_FIELDS)


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
