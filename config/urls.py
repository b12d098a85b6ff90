from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.favicon import favicon
from config.health import healthz
from config.security_txt import security_txt

admin.site.site_header = settings.FIXPOINT_SITE_NAME
admin.site.site_title = settings.FIXPOINT_SITE_NAME

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path(".well-known/security.txt", security_txt, name="security-txt"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("accounts.urls")),
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

handler404 = "config.jsonapi.not_found"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
