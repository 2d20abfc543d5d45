from django import forms

from .uploads import ALLOWED_TYPES_TEXT, MAX_FILES, AttachmentRefused, files_check


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files (0 included); the rules are uploads.files_check, run in clean()."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", f"Up to {MAX_FILES} files, 10 MB each, 25 MB in all: {ALLOWED_TYPES_TEXT}.")
        # allow_empty_file: an empty file gets our clearer message from files_check.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        files = [super(MultipleFileField, self).clean(file, initial) for file in files]
        try:
            return files_check(files)
        except AttachmentRefused as exc:
            raise forms.ValidationError(str(exc), code="attachment_refused") from exc


class UploadFormMixin:
    """Shows an error from the streaming UploadLimitHandler as an error of the files field."""

    def __init__(self, *args, upload_error="", **kwargs):
        super().__init__(*args, **kwargs)
        self.upload_error = upload_error

    def clean(self):
        cleaned = super().clean()
        if self.upload_error:
            self.add_error("attachments", self.upload_error)
        return cleaned


class TicketForm(UploadFormMixin, forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(label="Describe the problem", widget=forms.Textarea(attrs={"rows": 8}), max_length=20000)
    server = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Not about a server", help_text="Optional."
    )
    attachments = MultipleFileField()

    def __init__(self, *args, servers, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the customer's own servers can be chosen; anything else is "not a valid choice".
        self.fields["server"].queryset = servers


class ReplyForm(UploadFormMixin, forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)
    attachments = MultipleFileField()
