from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)

from . import views

app_name = "gamification"

urlpatterns = [
    path("me/points/", views.profile, name="profile"),
    path("me/points/preferences/", views.preferences, name="preferences"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/<id:reward_id>/redeem/", views.redeem, name="redeem"),
    path("leaderboards/", views.leaderboards, name="leaderboards"),
    path("challenges/", views.challenges, name="challenges"),
    path("players/<id:user_id>/", views.player, name="player"),
]
