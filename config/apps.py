from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.contrib.admin.apps import SimpleAdminConfig
from django.utils.module_loading import module_has_submodule

# django-leaflet's admin module imports django.contrib.gis, which needs the GDAL C library.
# Fixpoint uses only its templates and bundled Leaflet, so its admin module is never imported.
SKIP_ADMIN_OF = {"leaflet"}


class FixpointAdminConfig(SimpleAdminConfig):
    """The admin, discovering every app's admin.py except those that would need GDAL."""

    default_site = "config.admin_site.FixpointAdminSite"

    def ready(self) -> None:
        super().ready()
        for app_config in apps.get_app_configs():
            if app_config.label in SKIP_ADMIN_OF:
                continue
            if module_has_submodule(app_config.module, "admin"):
                import_module(f"{app_config.name}.admin")
