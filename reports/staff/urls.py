from __future__ import annotations

from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)

from . import stats_views, views

app_name = "staff"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("reports/new/", views.report_enter, name="report-new"),
    path("reports/<id:pk>/", views.report_work, name="report"),
    path("stats/", stats_views.stats_page, name="stats"),
    path("export.csv", stats_views.export_csv, name="export"),
]
