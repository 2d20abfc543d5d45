from .models import OrderSSHKey, SSHKey


def ssh_keys_for_user(user):
    return SSHKey.objects.filter(user=user).order_by("name", "id")


def order_ssh_keys(order):
    """The keys chosen for an order's server (an Order or its id), as they were at checkout."""
    return OrderSSHKey.objects.filter(order=order).order_by("id")


def order_public_key_lines(order) -> tuple:
    return tuple(order_ssh_keys(order).values_list("public_key", flat=True))
