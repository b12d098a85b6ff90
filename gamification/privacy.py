"""The game's part of a person's data: their points in the download, their board name erased."""

from __future__ import annotations

from typing import Any

from .models import BadgeAward, Player, PointEntry, Redemption


def on_personal_data_requested(user: Any, export: Any, **_: Any) -> None:
    player = Player.objects.filter(user=user).first()
    export.add(
        "points",
        {
            "balance": player.balance if player else 0,
            "on_public_boards": bool(player and player.is_public),
            "name_on_boards": player.board_name if player else "",
            "ledger": list(
                PointEntry.objects.filter(user=user)
                .order_by("created_at", "id")
                .values("amount", "rule", "reason", "original_ref", "report__ref", "created_at")
            ),
            "badges": list(
                BadgeAward.objects.filter(user=user).values("name", "level", "awarded_at")
            ),
            "prizes": list(
                Redemption.objects.filter(user=user).values(
                    "reward__title", "code", "cost", "created_at"
                )
            ),
        },
    )


def on_personal_data_anonymised(user: Any, erase: bool, **_: Any) -> None:
    """Off the public boards; an erased account also stops playing. The ledger stays (it is
    append-only and names nobody once the account is erased)."""
    fields: dict[str, Any] = {"is_public": False, "board_name": ""}
    if erase:
        fields["is_playing"] = False
    Player.objects.filter(user=user).update(**fields)
