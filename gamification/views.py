"""The game's pages: my points (the profile), prizes, leaderboards and challenges."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from authorities.models import Area

from . import selectors, services
from .exceptions import GameError
from .forms import PreferencesForm
from .models import Reward

View = Callable[..., HttpResponse]


def game_required(view: View) -> View:
    """Every page of the game is a 404 when the deployment switched it off."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not services.game_on():
            raise Http404("The game is switched off.")
        return view(request, *args, **kwargs)

    return wrapper


@game_required
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user_id = _uid(request)
    player = selectors.player_of(user_id)
    context = {
        "player": player,
        "entries": selectors.entries_for(user_id),
        "badges": selectors.badges_of(user_id),
        "challenges": selectors.challenges_current(user_id=user_id),
        "offers": selectors.reward_offers(player=player),
        "redemptions": selectors.redemptions_of(user_id),
        "form": PreferencesForm(instance=player),
    }
    return render(request, "gamification/profile.html", context)


@game_required
@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, str(errors[0]))
        return redirect("gamification:profile")
    services.player_preferences_set(user_id=_uid(request), **form.cleaned_data)
    messages.success(request, _("Your game settings are saved."))
    return redirect("gamification:profile")


@game_required
def rewards(request: HttpRequest) -> HttpResponse:
    player = selectors.player_of(request.user.pk) if request.user.is_authenticated else None
    context = {"offers": selectors.reward_offers(player=player), "player": player}
    return render(request, "gamification/rewards.html", context)


@game_required
@login_required
@require_POST
def redeem(request: HttpRequest, reward_id: int) -> HttpResponse:
    reward = get_object_or_404(Reward, pk=reward_id, is_approved=True)
    try:
        redemption = services.reward_redeem(reward_id=reward.pk, user_id=_uid(request))
    except GameError as exc:
        messages.error(request, exc.message)
    else:
        text = _("“%(title)s” is yours. Your code: %(code)s")
        messages.success(request, text % {"title": reward.title, "code": redemption.code})
    return redirect("gamification:profile")


@game_required
def leaderboards(request: HttpRequest) -> HttpResponse:
    period = request.GET.get("period", "week")
    if period not in selectors.PERIODS:
        period = "week"
    area = Area.objects.filter(slug=request.GET.get("area") or "").first()
    viewer = request.user.pk if request.user.is_authenticated else None
    context = {
        "board": selectors.leaderboard(period=period, area=area, viewer_id=viewer),
        "periods": [("week", _("This week")), ("month", _("This month")), ("all", _("All time"))],
        "areas": Area.objects.filter(kind="neighbourhood").only("slug", "name"),
    }
    return render(request, "gamification/leaderboards.html", context)


@game_required
def player(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = selectors.public_profile(user_id)
    if profile is None:  # not playing, or never chose to appear: as if there were nobody
        raise Http404("No such player.")
    return render(request, "gamification/player.html", {"profile": profile})


@game_required
def challenges(request: HttpRequest) -> HttpResponse:
    viewer = request.user.pk if request.user.is_authenticated else None
    context = {"challenges": selectors.challenges_current(user_id=viewer)}
    return render(request, "gamification/challenges.html", context)


def _uid(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # the views that call this require a signed-in person
