from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Ticket, TicketAttachment, TicketMessage


class AttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = TicketAttachment
        fields = ["id", "name", "size", "content_type", "sha256", "download_url"]

    def get_download_url(self, attachment) -> str:
        path = reverse("support:attachment", args=[attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class MessageSerializer(serializers.ModelSerializer):
    from_staff = serializers.BooleanField(source="is_staff_reply")
    attachments = AttachmentSerializer(many=True)

    class Meta:
        model = TicketMessage
        # is_internal is always false for customers: they never receive internal notes.
        fields = ["id", "body", "from_staff", "is_internal", "created_at", "attachments"]


class TicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "subject", "status", "priority", "server", "created_at", "updated_at", "closed_at"]


class TicketDetailSerializer(TicketSerializer):
    messages = MessageSerializer(many=True, source="thread")

    class Meta(TicketSerializer.Meta):
        fields = TicketSerializer.Meta.fields + ["messages"]


class TicketCreateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
    server = serializers.IntegerField(required=False, allow_null=True, help_text="id of one of your servers")

    def validate_server(self, value):
        if value is None:
            return None
        server = self.context["servers"].filter(pk=value).first()
        if server is None:
            raise serializers.ValidationError("No such server among yours.")
        return server


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """An uploaded file; described as binary (FileField alone is shown as a URL when
    request and response components are not split)."""


class MessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    # allow_empty_file: an empty file gets the same clear refusal as on the web page.
    attachments = serializers.ListField(child=UploadField(allow_empty_file=True), required=False, default=list)
