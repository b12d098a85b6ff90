from django.apps import AppConfig


class AuthoritiesConfig(AppConfig):
    name = "authorities"
    verbose_name = "Authorities and routing"

    def ready(self) -> None:
        from django.core.signals import request_started

        from . import routing

        # One cheap version check per request keeps every web process's index current.
        request_started.connect(routing.request_freshness_check, dispatch_uid="routing-freshness")
