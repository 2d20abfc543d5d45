from .second_factor import second_factor_required


def second_factor(request):
    """For templates/security/_second_factor_field.html in dangerous-action forms."""
    user = getattr(request, "user", None)
    return {"second_factor_required": bool(user is not None and second_factor_required(user))}
