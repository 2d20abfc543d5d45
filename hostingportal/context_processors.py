from django.conf import settings


def portal(request):
    """Values every page needs: the simulated-mode banner above all."""
    return {
        "PAYMENTS_SIMULATED": settings.PAYMENTS_SIMULATED,
        "PROVISIONING_SIMULATED": settings.PROVISIONING_BACKEND == "simulated",
    }
