from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from . import selectors, services


@require_GET
def referral_link(request, code):
    """/r/<code>/: remember the referrer in a cookie for AFFILIATE_COOKIE_DAYS, then the plans.

    An unknown code still leads to the plans, with no cookie. A visitor who already
    holds a valid referral cookie keeps it (the first referral stands), and a
    signed-in customer gets none: they are a customer already, and their own code
    never refers themselves.
    """
    response = redirect("billing:plans")
    if request.user.is_authenticated:
        return response
    if services.referral_code_owner(request.COOKIES.get(services.REFERRAL_COOKIE)) is not None:
        return response
    owner = services.referral_code_owner(code)
    if owner is not None:
        response.set_cookie(
            services.REFERRAL_COOKIE,
            owner.referral_code,
            max_age=settings.AFFILIATE_COOKIE_DAYS * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    return response


@login_required
@require_GET
def affiliate_page(request):
    context = {
        "summary": selectors.affiliate_summary(request.user),
        "percent": format(settings.AFFILIATE_COMMISSION_PERCENT.normalize(), "f"),
        "hold_days": settings.AFFILIATE_HOLD_DAYS,
        "cookie_days": settings.AFFILIATE_COOKIE_DAYS,
    }
    return render(request, "affiliates/affiliate.html", context)
