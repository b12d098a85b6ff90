from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)

from . import feeds, json_views, offline, views
from . import map as mapdata

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("reports/new/", views.report_new, name="new"),
    path("reports/new/draft/", views.report_draft_send, name="draft-send"),
    # From the root: a service worker controls the pages under the folder it is served from.
    path("sw.js", offline.service_worker, name="service-worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("reports/confirm/<str:token>/", views.report_confirm, name="confirm"),
    path("reports/confirm/<str:token>/account/", views.confirmed_account, name="confirm-account"),
    path("reports/<str:ref>/", views.report_detail, name="detail"),
    path("reports/<str:ref>/update/", views.report_update, name="update"),
    path("reports/<str:ref>/support/", views.report_support, name="support"),
    path("reports/<str:ref>/subscribe/", views.report_subscribe, name="subscribe"),
    path("reports/<str:ref>/feed/", feeds.ReportFeed(), name="feed"),
    path("alerts/", views.alerts, name="alerts"),
    path("authorities/", views.authority_list, name="authorities"),
    path("authorities/<slug:slug>/", views.authority_page, name="authority"),
    path(
        "authorities/<slug:slug>/performance.csv",
        views.authority_performance_csv,
        name="authority-csv",
    ),
    path(
        "site-messages/<id:pk>/dismiss/",
        views.site_message_dismiss,
        name="site-message-dismiss",
    ),
    path("alerts/confirm/<str:token>/", views.alert_confirm, name="alert-confirm"),
    path("alerts/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("questionnaire/<str:token>/", views.questionnaire, name="questionnaire"),
    path("my/reports/", views.my_reports, name="mine"),
    path("my/reports/<str:ref>/edit/", views.report_edit, name="edit"),
    path("my/reports/<str:ref>/withdraw/", views.report_withdraw, name="withdraw"),
    path("my/reports/<str:ref>/withdraw/undo/", views.report_withdraw_undo, name="withdraw-undo"),
    path("my/hide-name/", views.hide_my_name, name="hide-name"),
    path("my/data/", views.my_data, name="my-data"),
    path("my/delete/", views.my_delete, name="my-delete"),
    path("privacy/", views.privacy_page, name="privacy"),
    path("locate.json", json_views.locate, name="locate-json"),
    path("nearby.json", json_views.nearby, name="nearby-json"),
    path("search.json", json_views.search, name="search-json"),
    path("boundaries.json", json_views.boundaries, name="boundaries-json"),
    path("photo-gps.json", json_views.photo_gps, name="photo-gps-json"),
    path("map/list.json", json_views.viewport_list, name="map-list"),
    path("map/reports.json", mapdata.viewport_json, name="map-reports"),
]
