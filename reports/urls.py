from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/<str:ref>/", views.report_detail, name="detail"),
]
