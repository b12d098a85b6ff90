from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import set_language
from config.health import healthz

admin.site.site_header = settings.FIXPOINT_SITE_NAME
admin.site.site_title = settings.FIXPOINT_SITE_NAME

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    # The static scripts' strings (djangojs catalogue), in the page's language; cached by the
    # browser for an hour, the Vary on Accept-Language and Cookie keeps languages apart.
    path(
        "i18n/js/",
        cache_control(max_age=3600)(JavaScriptCatalog.as_view()),
        name="javascript-catalog",
    ),
    path("api/v1/", include("gamification.api.urls")),
    path("api/v1/", include("reports.api.urls")),
    # One version: a `?version=` was echoed into the Content-Disposition header (a 500 on CR/LF).
    path(
        "api/schema/",
        SpectacularAPIView.as_view(api_version=settings.SPECTACULAR_SETTINGS["VERSION"]),
        name="api-schema",
    ),
    # The split view serves its start-up script as a file (?script), and our template has no
    # inline style: the page works under the Content-Security-Policy without 'unsafe-inline'.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("open311/v2/", include("reports.open311.urls")),
    path("staff/", include("reports.staff.urls")),
    path("", include("gamification.urls")),
    path("", include("reports.urls")),
]

handler404 = "config.api.not_found"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
