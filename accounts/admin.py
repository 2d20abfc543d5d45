from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from rest_framework.authtoken import admin as authtoken_admin
from rest_framework.authtoken.models import TokenProxy

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "billing_state", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name", "billing_name", "gstin"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Billing", {"fields": ("billing_name", "billing_address", "billing_state", "gstin")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


# DRF's token admin searches `user__username`, which our email-only user lacks (a search
# there was a server error). The import above registered it, so it can be replaced.
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(authtoken_admin.TokenAdmin):
    """Staff revoke a customer's API token here (delete); the customer can also do it on their account page."""

    search_fields = ["user__email"]
    search_help_text = "Email"
    autocomplete_fields = ["user"]
