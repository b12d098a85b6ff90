"""The game's pages: the profile, the notice after a verification, boards, challenges, prizes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gamification import services
from gamification.models import Player, Redemption
from tests import factories

from .helpers import balance, verify


@pytest.fixture
def citizen(city, client):
    user = factories.UserFactory.create()
    client.force_login(user)
    return user


def test_the_notice_after_a_verification_shows_once_on_the_next_page(city, client, citizen):
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))

    first = client.get(reverse("reports:home")).content.decode()
    second = client.get(reverse("reports:home")).content.decode()

    assert "+15 points for 1 verified report and more" in first
    assert _banners(first) == 1
    assert "game-notice" not in second


def test_the_profile_shows_balance_entries_badges_challenges_and_prizes(
    city, client, citizen, django_assert_num_queries
):
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen, title="Deep hole"))
    factories.ChallengeFactory.create(title="Spring clean", target=4)
    factories.RewardFactory.create(title="Museum ticket", cost=10)

    # Session, user, player, challenges (+categories, +progress), entries, badges, prizes, codes,
    # the notice (read, then marked as seen), and the site messages (cached after this page).
    with django_assert_num_queries(13):
        html = client.get(reverse("gamification:profile")).content.decode()

    assert '<strong id="balance">15</strong>' in html
    assert "Deep hole" in html and "Your report was verified" in html
    assert "Reporter · level 1" in html and "Neighbour · level 1" in html
    assert "Spring clean" in html and "1 / 4" in html
    assert "Museum ticket" in html and "Redeem</button>" in html


def test_redeeming_on_the_site_shows_the_code(city, client, citizen):
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    reward = factories.RewardFactory.create(title="Museum ticket", cost=10)

    response = client.post(reverse("gamification:redeem", args=[reward.pk]), follow=True)

    code = Redemption.objects.get().code
    assert f"Your code: {code}" in response.content.decode()
    assert balance(citizen) == 5


def test_redeeming_without_points_on_the_site_explains_why(city, client, citizen):
    reward = factories.RewardFactory.create(title="Museum ticket", cost=10)

    response = client.post(reverse("gamification:redeem", args=[reward.pk]), follow=True)

    assert "costs 10 points; you have 0" in response.content.decode()
    assert not Redemption.objects.exists()


def test_a_citizen_opts_in_to_public_boards_under_a_chosen_name(city, client, citizen):
    response = client.post(
        reverse("gamification:preferences"),
        {"is_playing": "on", "is_public": "on", "board_name": " Lamp spotter "},
        follow=True,
    )

    assert response.status_code == 200
    player = Player.objects.get(pk=citizen.pk)
    assert (player.is_public, player.board_name) == (True, "Lamp spotter")


def test_opting_in_without_a_name_is_refused(city, client, citizen):
    response = client.post(
        reverse("gamification:preferences"), {"is_playing": "on", "is_public": "on"}, follow=True
    )

    assert "Choose a name" in response.content.decode()
    assert not Player.objects.filter(pk=citizen.pk, is_public=True).exists()


def test_the_leaderboard_page_never_shows_people_who_did_not_opt_in_nor_locations(city, client):
    shy, proud = factories.UserFactory.create_batch(2, display_name="Shy Person")
    for person in (shy, proud):
        verify(city, factories.report(city.pothole, *city.WEST, reporter=person))
    services.player_preferences_set(
        user_id=proud.pk, is_playing=True, is_public=True, board_name="Proud"
    )

    html = client.get(reverse("gamification:leaderboards"), {"period": "all"}).content.decode()

    assert "Proud" in html and "Shy Person" not in html and shy.email not in html
    assert "10.05" not in html and "Pothole" not in html  # no report, no place


def test_the_challenges_page_shows_collective_progress(city, client):
    factories.ChallengeFactory.create(title="Neighbourhood push", target=3, is_collective=True)
    for _ in range(2):
        verify(city, factories.report(city.pothole, *city.WEST))

    html = client.get(reverse("gamification:challenges")).content.decode()

    assert "Neighbourhood push" in html and "2 / 3" in html


def test_with_the_game_switched_off_the_pages_are_gone_and_the_nav_link_too(
    city, client, citizen, settings
):
    settings.FIXPOINT_GAMIFICATION = False

    assert client.get(reverse("gamification:profile")).status_code == 404
    assert "My points" not in client.get(reverse("reports:home")).content.decode()


def test_a_public_profile_shows_points_and_badges_but_no_report_or_place(city, client):
    person = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=person, title="Hole at 5"))
    services.player_preferences_set(
        user_id=person.pk, is_playing=True, is_public=True, board_name="Lamp spotter"
    )

    html = client.get(reverse("gamification:player", args=[person.pk])).content.decode()

    assert "Lamp spotter" in html and "15 points this month, 15 in all" in html
    assert "Reporter · level 1" in html
    assert "Hole at 5" not in html and "Barri Oest" not in html and "10.05" not in html


def test_somebody_who_did_not_opt_in_has_no_public_profile(city, client):
    person = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=person))

    assert client.get(reverse("gamification:player", args=[person.pk])).status_code == 404


def _redeem_cells(html: str) -> dict[str, str]:
    """Prize title -> what its Redeem cell says ("Redeem" for the button)."""
    table = re.search(r'<table[^>]*id="rewards".*?</table>', html, re.S)
    assert table is not None
    cells = {}
    for row in re.findall(r"<tr><td>(.*?)</tr>", table.group(), re.S):
        title = re.sub(r"<.*", "", row, flags=re.S).strip()
        last = row.rsplit("<td>", 1)[1]
        cells[title] = (
            "Redeem" if "Redeem</button>" in last else re.sub(r"<[^>]+>", "", last).strip()
        )
    return cells


@pytest.mark.parametrize("page", ["gamification:rewards", "gamification:profile"])
def test_both_prize_lists_say_for_each_prize_whether_and_why_not_one_can_redeem_it(
    city, client, citizen, page
):
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))  # 15 points
    once = factories.RewardFactory.create(title="Once only", cost=1, per_user_limit=1)
    factories.RewardFactory.create(title="Museum ticket", cost=10)
    factories.RewardFactory.create(title="Bicycle", cost=500)
    services.reward_redeem(reward_id=once.pk, user_id=citizen.pk)

    cells = _redeem_cells(client.get(reverse(page)).content.decode())

    assert cells == {
        "Once only": "You have as many as one person may",
        "Museum ticket": "Redeem",
        "Bicycle": "Not enough points",
    }


def test_a_citizen_who_switched_the_game_off_is_told_so_instead_of_a_redeem_button(
    city, client, citizen
):
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    factories.RewardFactory.create(title="Museum ticket", cost=10)
    services.player_preferences_set(user_id=citizen.pk, is_playing=False, is_public=False)

    for page in ("gamification:rewards", "gamification:profile"):
        cells = _redeem_cells(client.get(reverse(page)).content.decode())
        assert cells == {"Museum ticket": "You have switched the game off"}


def test_a_signed_out_visitor_is_offered_to_log_in_to_redeem(city, client):
    factories.RewardFactory.create(title="Museum ticket", cost=10)

    html = client.get(reverse("gamification:rewards")).content.decode()

    assert _redeem_cells(html) == {"Museum ticket": "Log in to redeem"}
    assert f'href="{reverse("account_login")}?next=/rewards/"' in html


def test_the_notice_of_a_single_point_says_point(city, client, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    services.points_award(user_id=citizen.pk, rule="challenge_bonus", amount=1, target=report)

    html = client.get(reverse("reports:home")).content.decode()

    assert "+1 point: challenge completed" in html


def test_a_screen_reader_hears_one_short_line_however_many_notices_there_are(city, client, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    for n in range(6):
        services.points_award(
            user_id=citizen.pk, rule="challenge_bonus", amount=2, target=report, key_detail=str(n)
        )

    html = client.get(reverse("reports:home")).content.decode()

    live = re.findall(r'role="status"[^>]*>(.*?)</p>', _notices(html))
    assert [re.sub(r"<[^>]+>", "", line) for line in live] == [
        "+12 points for 6 completed challenges — see your points"
    ]


def test_a_wall_of_points_news_is_one_banner_linking_to_the_points_page(city, client, citizen):
    for n in range(20):
        verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen, title=f"R{n}"))
    expected = balance(citizen)

    html = client.get(reverse("reports:home")).content.decode()

    assert _banners(html) == 1
    # past the daily cap a verification is recorded with 0 points, and not news
    assert f"+{expected} points for 10 verified reports and more" in html
    profile = reverse("gamification:profile")
    assert re.search(rf'game-notice[^>]*>[^<]*<a href="{profile}">see your points</a>', html)
    assert 'class="message success game-notice"' in html


def test_a_penalty_is_not_styled_as_a_success(city, client, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    services.points_award(user_id=citizen.pk, rule="spam_penalty", amount=-20, target=report)

    html = client.get(reverse("reports:home")).content.decode()

    assert "-20 points: your report was marked as spam" in html
    assert 'class="message warning game-notice"' in html and "success game-notice" not in html


def test_a_gain_and_a_loss_together_are_neither_success_nor_penalty(city, client, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    services.points_award(user_id=citizen.pk, rule="challenge_bonus", amount=30, target=report)
    services.points_award(user_id=citizen.pk, rule="spam_penalty", amount=-20, target=report)

    html = client.get(reverse("reports:home")).content.decode()

    assert "+10 points for 1 completed challenge and more" in html
    assert 'class="message info game-notice"' in html


def _notices(html: str) -> str:
    found = re.search(r'<div class="messages game-notices">.*?</div>', html, re.S)
    return found.group(0) if found else ""


def _banners(html: str) -> int:
    return len(re.findall(r'class="message [a-z]+ game-notice"', html))
