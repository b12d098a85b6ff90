"""The game's API: my points, leaderboards, challenges, the prize catalogue and redemption."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authorities.models import Area
from config.api import error
from gamification import selectors, services
from gamification.exceptions import UnknownArea
from gamification.models import Reward

from . import examples
from . import serializers as s

GAME_OFF = examples.GAME_OFF
TAG = "Game"
REWARD_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The prize's `id`, from the list"
)
NO_PRIZE = "No such prize, not available now (approved, in stock, valid), or the game is off"


class GameOnMixin:
    """Every endpoint of the game is a 404 when the deployment switched it off."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not services.game_on():
            raise NotFound(GAME_OFF)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # mixed into an APIView


class GameView(GameOnMixin, APIView):
    api_tag = TAG


class MyPointsView(GameView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        responses={
            200: s.PointsSerializer,
            403: error("An API key that acts for nobody: points are a person's"),
            404: error(GAME_OFF),
        },
        examples=examples.POINTS,
    )
    def get(self, request: Request) -> Response:
        """My balance and my newest ledger entries, reversals included."""
        user_id = cast(int, request.user.pk)
        entries = selectors.entries_for(user_id, limit=100)
        data = {"balance": selectors.balance_of(user_id), "entries": entries}
        return Response(s.PointsSerializer(data).data)


class LeaderboardView(GameView):
    permission_classes = (AllowAny,)

    @extend_schema(
        parameters=[s.BoardQuerySerializer],
        responses={
            200: s.BoardSerializer,
            400: error("Unknown period (`invalid`) or neighbourhood (`unknown_area`)"),
            404: error(GAME_OFF),
        },
        examples=examples.LEADERBOARD,
    )
    def get(self, request: Request) -> Response:
        """Points earned this week, this month or ever, city-wide or in one neighbourhood.
        Only people who opted in are listed; signed in, `me` is your own rank."""
        query = s.BoardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        area = _area(query.validated_data.get("area"))
        viewer = request.user.pk if request.user.is_authenticated else None
        board = selectors.leaderboard(
            period=query.validated_data["period"], area=area, viewer_id=viewer
        )
        return Response(s.BoardSerializer(_board_data(board)).data)


class ChallengeListView(GameView):
    permission_classes = (AllowAny,)

    @extend_schema(
        responses={200: s.ChallengeSerializer(many=True), 404: error(GAME_OFF)},
        examples=examples.CHALLENGES,
    )
    def get(self, request: Request) -> Response:
        """Challenges running now or ended in the last 30 days, with progress."""
        viewer = request.user.pk if request.user.is_authenticated else None
        views = selectors.challenges_current(user_id=viewer)
        return Response(s.ChallengeSerializer(views, many=True).data)


@extend_schema_view(
    list=extend_schema(
        responses={200: s.RewardSerializer(many=True), 404: error(GAME_OFF)},
        examples=examples.REWARDS,
    ),
    retrieve=extend_schema(
        description="One prize that can be redeemed now.",
        parameters=[REWARD_ID],
        responses={200: s.RewardSerializer, 404: error(NO_PRIZE)},
        examples=examples.REWARD_DETAIL,
    ),
)
class RewardViewSet(
    GameOnMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The prizes one can redeem now (approved, in stock, valid), cheapest first."""

    serializer_class = s.RewardSerializer
    pagination_class = None
    api_tag = TAG

    def get_queryset(self) -> QuerySet[Reward]:
        return selectors.rewards_available()

    @extend_schema(
        parameters=[REWARD_ID],
        request=None,
        responses={
            201: s.RedemptionSerializer,
            403: error(
                "A read-only API key, an API key acting for nobody, or you switched the game off "
                "for yourself (`gamification_off`)"
            ),
            404: error(NO_PRIZE),
            409: error(
                "Not enough points, out of stock, your limit reached or no longer available "
                "(`not_enough_points`, `out_of_stock`, `limit_reached`, `reward_unavailable`); "
                "nothing is spent"
            ),
        },
        examples=examples.REDEEM,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def redeem(self, request: Request, pk: str) -> Response:
        """Spend points on this prize: the answer holds its code, to show the sponsor."""
        reward = self.get_object()
        # A refusal (GameError) is answered by the API's one exception handler, with its status.
        redemption = services.reward_redeem(reward_id=reward.pk, user_id=cast(int, request.user.pk))
        data = s.RedemptionSerializer(redemption).data
        return Response(data, status=status.HTTP_201_CREATED)


def _area(slug: str | None) -> Area | None:
    if not slug:
        return None
    area = Area.objects.filter(slug=slug).first()
    if area is None:
        # a 400 in the error shape
        raise UnknownArea(_("There is no neighbourhood %(slug)s.") % {"slug": repr(slug)})
    return area


def _board_data(board: selectors.Board) -> dict[str, Any]:
    return {
        "period": board.period,
        "area": board.area.slug if board.area else None,
        "shown": board.shown,
        "entries": board.rows,
        "me": board.me,
    }
