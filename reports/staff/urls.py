from __future__ import annotations

from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("reports/<int:pk>/", views.report_work, name="report"),
]
