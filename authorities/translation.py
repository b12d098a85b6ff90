"""Content translated per language (django-modeltranslation): what people read of a category
and its extra questions. Each field gets `<field>_en`, `_ca` and `_es` columns; the field itself
reads the active language's, falling back to English."""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from .models import Category, CategoryQuestion


@register(Category)
class CategoryTranslation(TranslationOptions):
    fields = ("name", "group", "description")


@register(CategoryQuestion)
class CategoryQuestionTranslation(TranslationOptions):
    fields = ("label", "help_text")
