"""One shape for every API error: `{"detail": "<human-readable reason>"}`, or for
invalid input a 400 with one key per invalid field holding a list of messages.

`api_exception_handler` makes DRF's answers follow it, `api_not_found` answers
unknown /api/v1/ paths in it (instead of Django's HTML page), and
`error_responses()` documents it in the OpenAPI schema, so integrators and the
schemathesis fuzzer (scripts/fuzz_api) can rely on every status an endpoint
may answer being listed there."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Human-readable reason.")


class ValidationErrorSerializer(serializers.Serializer):
    """Either `detail`, or one key per invalid field (`non_field_errors` for the body as a whole)."""

    detail = serializers.CharField(required=False, help_text="Human-readable reason.")
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


DESCRIPTIONS = {
    400: "Invalid input: `detail`, or field names mapped to lists of messages.",
    401: "Not authenticated: send `Authorization: Token <key>` or sign in (session cookie).",
    403: "Forbidden: a session request without a valid CSRF token.",
    404: "Not found, or not the caller's.",
    409: "Conflict: the object's present state does not allow this (`detail` says why).",
    429: "Too many requests: retry after the `Retry-After` header's seconds.",
    503: "A payment or provisioning provider is unreachable; try again shortly.",
}

# What any endpoint behind authentication may answer besides its own outcomes.
AUTHENTICATED = (401, 403, 429)


def error_responses(*codes, **descriptions):
    """`extend_schema(responses=…)` entries for error statuses; `descriptions` overrides
    the text per status, as `e404="No such order."`."""
    responses = {}
    for code in codes:
        serializer = ValidationErrorSerializer if code == 400 else ErrorSerializer
        description = descriptions.get(f"e{code}", DESCRIPTIONS[code])
        responses[code] = OpenApiResponse(serializer, description=description)
    return responses


def status_filter_parameter(choices):
    return OpenApiParameter(
        "status", str, enum=[value for value, _ in choices], description="Only objects in this status."
    )


def status_filter_value(request, choices):
    """The `?status=` filter, or None when absent; an unknown value is a 400, not an empty page."""
    value = request.query_params.get("status")
    if value is None:
        return None
    allowed = [choice for choice, _ in choices]
    if value not in allowed:
        raise ValidationError({"detail": f"Unknown status “{value}”; use one of: {', '.join(allowed)}."})
    return value


def api_exception_handler(exc, context):
    """DRF's handler, with a `detail` that is always one string: `ValidationError("…")` and
    `ValidationError({"detail": "…"})` would otherwise answer lists."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, list):
        response.data = {"detail": " ".join(str(message) for message in data)}
    elif isinstance(data, dict) and isinstance(data.get("detail"), list):
        response.data = {**data, "detail": " ".join(str(message) for message in data["detail"])}
    return response


@csrf_exempt  # it changes nothing; without this a POST would get the CSRF failure page in HTML
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found."}, status=404)


def hygiene_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation may answer what the input
    hygiene layer (core/hygiene.py) answers before any view, so the schema says
    so: 400 for a NUL or invalid Unicode in the path, query or headers (and a bad body),
    413 for a body over the limit where the operation takes one."""
    bad_input = {
        "description": "Invalid input: a NUL character or invalid Unicode in the path, query string, headers or "
        "body, JSON nested too deeply, or field errors.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}},
    }
    too_large = {
        "description": "The request body is over the size limit.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault("400", bad_input)
            if "requestBody" in operation:
                operation["responses"].setdefault("413", too_large)
    return result
