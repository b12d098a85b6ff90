"""GET /api/v1/geocode and /api/v1/geocode/reverse: finding places for the map and the filing
page, in front of authorities.geocoding (the local gazetteer, then the optional external one)."""

from __future__ import annotations

import math
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authorities.geocoding import GeocodeAnswer, geocode, reverse_geocode
from authorities.geocoding.local import REVERSE_STEPS_M, Hit
from authorities.geocoding.selectors import MAX_LIMIT
from config.api import error

KINDS = ("address", "street", "place", "area")


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError(_("Give a finite number."))


class GeocodeQuery(serializers.Serializer[Any]):
    q = serializers.CharField(max_length=200, help_text="What to look for")
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_LIMIT, default=10, help_text="At most this many results"
    )


class ReverseQuery(serializers.Serializer[Any]):
    lat = serializers.FloatField(
        min_value=-90, max_value=90, validators=[_finite], help_text="WGS84 latitude, -90 to 90"
    )
    lon = serializers.FloatField(
        min_value=-180,
        max_value=180,
        validators=[_finite],
        help_text="WGS84 longitude, -180 to 180",
    )


class GeocodeResultSerializer(serializers.Serializer[Any]):
    # "label" is also an attribute of every DRF field: the stubs cannot tell them apart.
    label = serializers.CharField(help_text="For people: the name, or street and number")  # type: ignore[assignment]
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    kind = serializers.ChoiceField(
        choices=KINDS,
        help_text="address (a street and number), street, place (a landmark, park, square...) or "
        "area (an authority, a neighbourhood, a postcode)",
    )


class OutsideSerializer(GeocodeResultSerializer):
    message = serializers.CharField(help_text="Why no report can be made there, for people")
    authority = serializers.DictField(
        allow_null=True,
        help_text="The nearest authority, which does not cover it: slug and name (null if the "
        "site has none)",
    )
    distance = serializers.FloatField(
        allow_null=True, help_text="Metres from the place to that authority's boundary"
    )


class GeocodeSerializer(serializers.Serializer[Any]):
    results = GeocodeResultSerializer(many=True, help_text="Inside the area served, best first")
    outside = OutsideSerializer(
        many=True, help_text="Matches outside the area served, each saying who does not cover it"
    )
    attribution = serializers.CharField(
        required=False, help_text="The external provider's licence line, when its data is used"
    )


class ReverseSerializer(GeocodeResultSerializer):
    distance = serializers.FloatField(help_text="Metres from the asked point (0: inside the area)")


SAGRADA = {"label": "Sagrada Família", "latitude": 41.40363, "longitude": 2.17436, "kind": "place"}
EXAMPLES = [
    OpenApiExample(
        "An address typed without accents: ?q=carrer mallorca 401",
        value={
            "results": [
                {
                    "label": "Carrer de Mallorca 401, 08013 Barcelona",
                    "latitude": 41.40325,
                    "longitude": 2.17487,
                    "kind": "address",
                },
                {
                    "label": "Carrer de Mallorca, Barcelona",
                    "latitude": 41.40325,
                    "longitude": 2.17487,
                    "kind": "street",
                },
            ],
            "outside": [],
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "A landmark and the neighbourhood named after it: ?q=sagrada familia",
        value={
            "results": [
                SAGRADA,
                {
                    "label": "la Sagrada Família",
                    "latitude": 41.40512,
                    "longitude": 2.17302,
                    "kind": "area",
                },
            ],
            "outside": [],
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "A street of the next town, which no authority here covers",
        value={
            "results": [],
            "outside": [
                {
                    "label": "Rambla de la Marina 300, 08907 L'Hospitalet de Llobregat",
                    "latitude": 41.3605,
                    "longitude": 2.1133,
                    "kind": "address",
                    "message": "Ajuntament de Barcelona does not cover this place (1.2 km outside "
                    "its area), and no other authority here does: reports cannot be made there.",
                    "authority": {"slug": "barcelona", "name": "Ajuntament de Barcelona"},
                    "distance": 1210.4,
                }
            ],
        },
        response_only=True,
        status_codes=["200"],
    ),
]
REVERSE_EXAMPLES = [
    OpenApiExample(
        "Next to the Sagrada Família: ?lat=41.4036&lon=2.1744",
        value={**SAGRADA, "distance": 5.1},
        response_only=True,
        status_codes=["200"],
    )
]


class GeocodeView(APIView):
    """Find addresses, streets, places and areas by text, best first: accents and case do not
    matter, a word may be half typed or misspelt ("sagrada familia", "carrer mallorca 40",
    "mallroca 401", "08013"). Only places inside the area the site serves are `results`; matches
    outside it are in `outside`, each saying which authority does not cover it. The local
    gazetteer answers first; an external geocoder, if the site has one, only when it knows
    nothing (its answers then carry `attribution`)."""

    permission_classes = (AllowAny,)
    api_tag = "Routing"

    @extend_schema(
        parameters=[GeocodeQuery],
        responses={200: GeocodeSerializer, 400: error("q missing or too long, or a bad limit")},
        examples=EXAMPLES,
    )
    def get(self, request: Request) -> Response:
        asked = GeocodeQuery(data=request.query_params)
        asked.is_valid(raise_exception=True)
        answer = geocode(asked.validated_data["q"], limit=asked.validated_data["limit"])
        return Response(_answer(answer))


class ReverseGeocodeView(APIView):
    """The nearest address or named place to a point, within about a kilometre, with its
    distance in metres; else the neighbourhood or authority covering the point (distance 0)."""

    permission_classes = (AllowAny,)
    api_tag = "Routing"

    @extend_schema(
        parameters=[ReverseQuery],
        responses={
            200: ReverseSerializer,
            400: error("lat or lon missing, not a number, or out of range"),
            404: error(f"Nothing known within {REVERSE_STEPS_M[-1]} m, and no area covers it"),
        },
        examples=REVERSE_EXAMPLES,
    )
    def get(self, request: Request) -> Response:
        asked = ReverseQuery(data=request.query_params)
        asked.is_valid(raise_exception=True)
        lat, lon = asked.validated_data["lat"], asked.validated_data["lon"]
        found = reverse_geocode(lat, lon)
        if found is None:
            raise NotFound(
                _("No address or place is known within %(metres)d m.")
                % {"metres": REVERSE_STEPS_M[-1]}
            )
        return Response({**_hit(found.hit), "distance": round(found.distance, 1)})


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "label": hit.label,
        "latitude": hit.latitude,
        "longitude": hit.longitude,
        "kind": hit.kind,
    }


def _answer(answer: GeocodeAnswer) -> dict[str, Any]:
    body: dict[str, Any] = {
        "results": [_hit(hit) for hit in answer.results],
        "outside": [
            {
                **_hit(o.hit),
                "message": o.message,
                "authority": {"slug": o.authority.slug, "name": o.authority.name}
                if o.authority
                else None,
                "distance": o.distance,
            }
            for o in answer.outside
        ],
    }
    if answer.attribution:
        body["attribution"] = answer.attribution
    return body
