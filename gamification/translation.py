"""Challenges and prizes in each language (django-modeltranslation; see authorities.translation)."""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from .models import Challenge, Reward


@register(Challenge)
class ChallengeTranslation(TranslationOptions):
    fields = ("title", "description", "badge_name")


@register(Reward)
class RewardTranslation(TranslationOptions):
    fields = ("title", "description")
