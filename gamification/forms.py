from __future__ import annotations

from typing import ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Player


class PreferencesForm(forms.ModelForm):
    """A person's game settings. Validation is Player.clean's (run by the ModelForm), the one
    place of the rules; the view saves through services.player_preferences_set, never save()."""

    class Meta:
        model = Player
        fields = ("is_playing", "is_public", "board_name")
        labels: ClassVar = {
            "is_playing": _("Take part in the game"),
            "is_public": _("Show me on public leaderboards"),
            "board_name": _("Name on leaderboards"),
        }
        help_texts: ClassVar = {
            "is_playing": "",
            "is_public": _(
                "Under the name below only; your reports and where they are never show."
            ),
        }
