from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .selectors import customer_home


@require_GET
def root(request):
    """The site's root: the customer's home once signed in, the plans before."""
    return redirect("home" if request.user.is_authenticated else "billing:plans")


@login_required
@require_GET
def home(request):
    return render(request, "dashboard/home.html", {"home": customer_home(request.user)})
