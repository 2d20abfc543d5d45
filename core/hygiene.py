"""One input hygiene layer for every request: the API, the pages and the webhook.

Runs before sessions, authentication, views and any query, and refuses what the
portal cannot accept with a 4xx (never a 5xx from deeper down):
- a body over its limit: 413 (JSON and forms DATA_UPLOAD_MAX_MEMORY_SIZE, 2 MB;
  multipart MULTIPART_MAX_BYTES, 50 MB);
- JSON nested deeper than MAX_JSON_DEPTH, or not UTF-8: 400;
- a NUL character (PostgreSQL cannot store one in text) or a lone surrogate (not
  Unicode; psycopg cannot encode it) anywhere in the path, the query string, a
  header, a cookie, a form field or a JSON string: 400.
A JSON body that does not parse is left to its view (DRF and the webhook answer
400 in their own words).
"""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser

MAX_JSON_DEPTH = 32
# Twice a ticket message's 25 MB of files: up to here support's upload limits answer in their
# own words (naming the limit); beyond it the body is refused unread.
MULTIPART_MAX_BYTES = 50 * 1024 * 1024
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
JSON_PATH_PREFIXES = ("/api/", "/webhooks/")


class InputRefused(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status, self.detail = status, detail


def is_json(content_type):
    return content_type == "application/json" or content_type.endswith("+json")


def text_check(value, where):
    if UNSTORABLE.search(value):
        raise InputRefused(400, f"The {where} holds a NUL character or invalid Unicode.")


def json_check(data):
    """Walk parsed JSON without recursion: depth, then every key and string."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            text_check(value, "request body")
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise InputRefused(400, f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
            if isinstance(value, dict):
                for key, item in value.items():
                    text_check(key, "request body")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def body_check(request):
    content_type = request.content_type or ""
    length = int(request.META.get("CONTENT_LENGTH") or 0) if request.META.get("CONTENT_LENGTH", "").isdigit() else 0
    if content_type.startswith("multipart/"):
        if length > MULTIPART_MAX_BYTES:
            raise InputRefused(413, f"The request body is over {MULTIPART_MAX_BYTES // (1024 * 1024)} MB.")
        # Parsed by the view that reads it (support installs its upload limits first), whose
        # forms and serializers refuse NUL in a field; a non-file field over the limit is
        # answered 413 by process_exception.
        return
    try:
        body = request.body
    except RequestDataTooBig:
        raise InputRefused(413, f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)} MB.")
    if not body:
        return
    if is_json(content_type):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InputRefused(400, "The JSON body is not valid UTF-8.")
        try:
            data = json.loads(text)
        except RecursionError:
            raise InputRefused(400, f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
        except ValueError:
            return  # not JSON at all: the view answers that
        json_check(data)
    elif content_type == "application/x-www-form-urlencoded":
        querydict_check(request.POST, "form")


def querydict_check(data, where):
    for key, values in data.lists():
        text_check(key, where)
        for value in values:
            if isinstance(value, str):
                text_check(value, where)


def request_check(request):
    text_check(request.path_info, "path")
    querydict_check(request.GET, "query string")
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            text_check(value, "request header")
    for value in request.COOKIES.values():
        text_check(value, "cookie")
    body_check(request)


class InputHygieneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request_check(request)
        except InputRefused as refused:
            return refusal_response(request, refused)
        return self.get_response(request)

    def process_exception(self, request, exception):
        # A multipart body's fields, read by the view, over DATA_UPLOAD_MAX_MEMORY_SIZE.
        if isinstance(exception, RequestDataTooBig):
            return refusal_response(request, InputRefused(413, "The request body's fields are over the limit."))
        return None


def refusal_response(request, refused):
    if request.path_info.startswith(JSON_PATH_PREFIXES):
        return JsonResponse({"detail": refused.detail}, status=refused.status)
    return HttpResponse(refused.detail, status=refused.status, content_type="text/plain; charset=utf-8")


class CheckedMultiPartParser(MultiPartParser):
    """The API's multipart parser (the view reads the body, after installing its upload
    limits): its fields and file names get the same NUL and Unicode check, as a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            querydict_check(parsed.data, "form")
            for upload in parsed.files.values():
                text_check(upload.name or "", "file name")
        except InputRefused as refused:
            raise ParseError(refused.detail)
        return parsed
