"""The admin's "Purge URLs" form: URLs, cache tags or CP codes, action and network."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from . import conf, funnel, operator_tools
from .exceptions import AkamaiConfigurationError
from .options import parse_options

ACTION_CHOICES = [
    ("invalidate", "Invalidate: the edge revalidates with the origin (Akamai's recommendation)"),
    ("delete", "Delete: the edge drops the content and fetches it again"),
]
NETWORK_CHOICES = [("production", "Production"), ("staging", "Staging")]

#: The form's text fields and the object type each holds.
FIELD_TYPES = {"urls": "url", "tags": "tag", "cpcodes": "cpcode"}


def default_options() -> dict[str, str]:
    """The action and network ``AKAMAI_PURGE_OPTIONS`` makes the default."""
    try:
        options = parse_options(None, conf.get_setting("AKAMAI_PURGE_OPTIONS"))
    except AkamaiConfigurationError:  # reported by the system checks
        options = parse_options(None)
    return {"action": options.action, "network": options.network}


class PurgeForm(forms.Form):
    urls = forms.CharField(
        label="URLs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90, "spellcheck": "false"}),
        help_text="One per line: absolute URLs, or paths starting with / (joined to "
        "AKAMAI_BASE_URL).",
    )
    tags = forms.CharField(
        label="Cache tags",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 90, "spellcheck": "false"}),
        help_text="Separated by new lines, spaces or commas.",
    )
    cpcodes = forms.CharField(
        label="CP codes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 90, "spellcheck": "false"}),
        help_text="Separated by new lines, spaces or commas.",
    )
    everything = forms.BooleanField(
        label="Purge everything",
        required=False,
        help_text="The site's CP codes (AKAMAI_CPCODES): every object they cover.",
    )
    action = forms.ChoiceField(choices=ACTION_CHOICES, widget=forms.RadioSelect)
    network = forms.ChoiceField(choices=NETWORK_CHOICES, widget=forms.RadioSelect)

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["initial"] = {**default_options(), **(kwargs.pop("initial", None) or {})}
        super().__init__(*args, **kwargs)

    def _objects(self, name: str) -> list[Any]:
        text = self.cleaned_data.get(name) or ""
        try:
            objects, errors = operator_tools.read_objects(
                text.splitlines(), FIELD_TYPES[name], source="Line"
            )
        except AkamaiConfigurationError as exc:  # e.g. a malformed AKAMAI_BASE_URL
            raise ValidationError(str(exc)) from None
        if errors:
            raise ValidationError(errors)
        return objects

    def clean_urls(self) -> list[Any]:
        return self._objects("urls")

    def clean_tags(self) -> list[Any]:
        return self._objects("tags")

    def clean_cpcodes(self) -> list[Any]:
        return self._objects("cpcodes")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("everything"):
            try:
                data["everything"] = funnel.site_cpcodes()
            except AkamaiConfigurationError as exc:  # e.g. a CP code that is not a number
                raise ValidationError(str(exc)) from None
            if not data["everything"]:
                raise ValidationError(
                    "Purging everything purges the site's CP codes, and AKAMAI_CPCODES is not set."
                )
        elif not self.errors and not any(data.get(name) for name in FIELD_TYPES):
            raise ValidationError("Enter at least one URL, cache tag or CP code.")
        return data

    def groups(self) -> dict[str, list[Any]]:
        """Objects by type (``url``, ``tag``, ``cpcode``), only the non-empty ones; with
        "Purge everything", the site's CP codes join the CP codes."""
        groups = {
            FIELD_TYPES[name]: list(self.cleaned_data[name])
            for name in FIELD_TYPES
            if self.cleaned_data.get(name)
        }
        if self.cleaned_data.get("everything"):
            codes = groups.setdefault("cpcode", [])
            codes.extend(c for c in self.cleaned_data["everything"] if c not in codes)
        return groups

    def options(self) -> dict[str, str]:
        return {"action": self.cleaned_data["action"], "network": self.cleaned_data["network"]}
