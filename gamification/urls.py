from django.urls import path

from . import views

app_name = "gamification"

urlpatterns = [
    path("me/points/", views.profile, name="profile"),
    path("me/points/preferences/", views.preferences, name="preferences"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/<int:reward_id>/redeem/", views.redeem, name="redeem"),
    path("leaderboards/", views.leaderboards, name="leaderboards"),
    path("challenges/", views.challenges, name="challenges"),
    path("players/<int:user_id>/", views.player, name="player"),
]
