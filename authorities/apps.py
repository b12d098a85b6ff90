from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthoritiesConfig(AppConfig):
    name = "authorities"
    verbose_name = _("Authorities and routing")

    def ready(self) -> None:
        from celery.signals import task_prerun
        from django.core.signals import request_started
        from django.db.models.signals import post_delete, post_migrate, post_save

        from . import routing
        from .geocoding.local import repair_sqlite_search
        from .models import CategoryQuestion

        # One cheap version check per request keeps every web process's index current.
        request_started.connect(routing.request_freshness_check, dispatch_uid="routing-freshness")
        # A worker lives for days: each task must see boundary edits made by other processes.
        task_prerun.connect(routing.request_freshness_check, dispatch_uid="routing-freshness-task")
        # SQLite drops a table's triggers when Django rebuilds it: the search index needs them.
        post_migrate.connect(repair_sqlite_search, dispatch_uid="gazetteer-repair-fts")
        # The index holds each category's questions (filing reads them there), and questions are
        # edited in two admin pages and by the demo loader: every save and delete bumps routing.
        for signal in (post_save, post_delete):
            signal.connect(
                _question_changed, sender=CategoryQuestion, dispatch_uid=f"question-{signal}"
            )


def _question_changed(**_: object) -> None:
    from .services import routing_changed

    routing_changed()
