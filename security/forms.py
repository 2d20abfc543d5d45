from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from .lockout import lockout_attempt_give_back


class StaffSignInForm(AdminAuthenticationForm):
    """The admin's sign-in form. A right password of an account that is not staff is
    refused after it was checked; the attempt the lockout took for it is given back."""

    def confirm_login_allowed(self, user):
        try:
            super().confirm_login_allowed(user)
        except ValidationError:
            lockout_attempt_give_back(self.request)
            raise
