"""Celery application. Without CELERY_BROKER_URL tasks run eagerly in-process (see settings)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fixpoint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _check_routing_freshness(**_: object) -> None:
    # A worker lives for days: each task must see boundary edits made by other processes.
    from authorities import routing

    routing.request_freshness_check()
