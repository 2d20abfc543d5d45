from django import forms


class SSHKeyForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, required=False, help_text="To tell your keys apart, e.g. “laptop”."
    )
    public_key = forms.CharField(
        label="Public key",
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text="The one line in your .pub file, e.g. from “cat ~/.ssh/id_ed25519.pub”. "
        "Accepted: ed25519, ecdsa, or RSA of 2048 bits or more. Never paste your private key.",
    )
