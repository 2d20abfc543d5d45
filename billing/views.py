from django.shortcuts import render

from . import pricing, selectors


def plans(request):
    cards = [{"plan": plan, "quote": pricing.quote(plan, 1)} for plan in selectors.active_plans()]
    return render(request, "billing/plans.html", {"cards": cards})
