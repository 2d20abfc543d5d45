from rest_framework import serializers

from .models import Server


class ServerSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="order.plan_slug", read_only=True)
    order = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Server
        fields = ["id", "name", "hostname", "ip_address", "status", "plan", "order", "created_at"]
