from django.conf import settings
from django.db import models


class SSHKey(models.Model):
    """A customer's OpenSSH public key, installed on the servers they choose it for.
    Only public keys are ever stored (sshkeys.parsing refuses private ones)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys")
    name = models.CharField(max_length=100)
    key_type = models.CharField(max_length=40)
    bits = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=80)  # SHA256:..., as ssh-keygen -l shows it
    public_key = models.TextField()  # one authorized_keys line: type, base64, comment
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "SSH key"
        constraints = [
            models.UniqueConstraint(fields=["user", "fingerprint"], name="sshkey_unique_per_user"),
        ]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"


class OrderSSHKey(models.Model):
    """A key chosen at checkout for the order's server, copied as it was then:
    the server gets these keys even if the customer edits or deletes the key
    before the machine is built, and the "server ready" page says which."""

    order = models.ForeignKey("billing.Order", on_delete=models.CASCADE, related_name="ssh_keys")
    key = models.ForeignKey(SSHKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=100)
    key_type = models.CharField(max_length=40)
    fingerprint = models.CharField(max_length=80)
    public_key = models.TextField()

    class Meta:
        ordering = ["id"]
        verbose_name = "SSH key of an order"
        verbose_name_plural = "SSH keys of orders"
        constraints = [
            models.UniqueConstraint(fields=["order", "fingerprint"], name="order_sshkey_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"
