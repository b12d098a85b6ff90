from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class PreferencesForm(forms.Form):
    is_playing = forms.BooleanField(label=_("Take part in the game"), required=False)
    is_public = forms.BooleanField(
        label=_("Show me on public leaderboards"),
        required=False,
        help_text=_("Under the name below only; your reports and where they are never show."),
    )
    board_name = forms.CharField(label=_("Name on leaderboards"), max_length=40, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("is_public") and not (data.get("board_name") or "").strip():
            self.add_error("board_name", _("Choose a name to appear on public boards."))
        return data
