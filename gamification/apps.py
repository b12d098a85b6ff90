from django.apps import AppConfig


class GamificationConfig(AppConfig):
    """Points, badges and prizes. Listens to reports' announcements; nothing below imports it."""

    name = "gamification"
    verbose_name = "Gamification"
