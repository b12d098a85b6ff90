from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_format_suffixes = False  # as in reports.api.urls
router.include_root_view = False  # reports.api.urls has the API's root
router.register("rewards", views.RewardViewSet, basename="reward")

urlpatterns = [
    path("me/points/", views.MyPointsView.as_view(), name="api-my-points"),
    path("leaderboards/", views.LeaderboardView.as_view(), name="api-leaderboards"),
    path("challenges/", views.ChallengeListView.as_view(), name="api-challenges"),
    path("", include(router.urls)),
]
