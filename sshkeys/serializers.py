from rest_framework import serializers

from .models import SSHKey


class SSHKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SSHKey
        fields = ["id", "name", "fingerprint", "key_type", "bits", "created_at"]
        read_only_fields = fields


class SSHKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    public_key = serializers.CharField(max_length=8192, trim_whitespace=True)
