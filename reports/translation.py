"""Response templates and site messages in each language (django-modeltranslation; see
authorities.translation)."""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from .models import ResponseTemplate, SiteMessage


@register(ResponseTemplate)
class ResponseTemplateTranslation(TranslationOptions):
    fields = ("title", "text")


@register(SiteMessage)
class SiteMessageTranslation(TranslationOptions):
    fields = ("text",)
