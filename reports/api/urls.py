from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import geocode, views

# No `.json` twins of the routes: undocumented, and the actions' twins crashed (a 500, the
# suffix arriving as an argument no action takes). `?format=` chooses the format.
router = DefaultRouter()
router.include_format_suffixes = False
router.register("reports", views.ReportViewSet, basename="report")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("authorities", views.AuthorityViewSet, basename="authority")

urlpatterns = [
    path("locate", views.LocateView.as_view(), name="api-locate"),
    path("geocode", geocode.GeocodeView.as_view(), name="api-geocode"),
    path("geocode/reverse", geocode.ReverseGeocodeView.as_view(), name="api-geocode-reverse"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
