from .models import Server


def servers_for_user(user):
    return Server.objects.filter(user=user).select_related("order").order_by("-created_at")
