"""Scheduled posts' rules: who may schedule what, which whens are refused, the status steps."""

from __future__ import annotations

import itertools

import pytest

from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.storage.database import Database, utcnow
from bot.schedules import store
from bot.schedules.service import Schedules, job_id
from bot.schedules.store import Schedule
from tests.support import services
from tests.support.services import BOT, World

ADMIN = "@alice:test"  # room admin in ROOM (power level 50)
MEMBER = "@bob:test"  # no power anywhere
ROOT = "@root:test"  # a bot admin, with no power level in the rooms

ROOM = "!square:test"
OTHER = "!elsewhere:test"

_commands = itertools.count(1)


@pytest.fixture
def w(fresh_db: Database) -> World:
    made = services.world(fresh_db, services.make_config(admins=[ROOT]))
    made.fake.power[(ROOM, ADMIN)] = 50
    made.fake.power[(OTHER, ADMIN)] = 50
    return made


@pytest.fixture
def posts(w: World) -> Schedules:
    return services.schedules(w)


def add(
    posts: Schedules,
    rest: str = "tomorrow 9:00 Assembly at noon, bring food",
    *,
    author: str = ADMIN,
    room: str = ROOM,
    command: str | None = None,
) -> Schedule:
    return posts.add(
        command_event_id=command or f"$add{next(_commands)}",
        room_id=room,
        author=author,
        lang="en",
        rest=rest,
    )


def count(db: Database) -> int:
    found = db.query_one("SELECT count(*) AS n FROM schedules")
    assert found is not None
    return int(found["n"])


def current(posts: Schedules, schedule: Schedule) -> Schedule:
    found = store.get(posts.db, schedule.id)
    assert found is not None
    return found


# ---- who may schedule --------------------------------------------------------------------------


def test_a_member_may_not_schedule_unless_the_room_asks_for_approval(
    posts: Schedules, fresh_db: Database
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        add(posts, author=MEMBER)

    assert services.refusal(refused.value) == (
        "Only room admins (power level {level} or more) may schedule posts here. A room admin can let members propose drafts with {approval}.",
        {"level": 50, "approval": "`!schedule approval on`"},
    )
    assert count(fresh_db) == 0


def test_with_approval_on_a_member_proposes_a_draft_that_is_not_planned(
    posts: Schedules,
) -> None:
    posts.set_approval(ROOM, True)

    draft = add(posts, author=MEMBER)

    assert (draft.status, draft.author, draft.steward) == (store.DRAFT, MEMBER, None)
    assert not posts.scheduler.has(job_id(draft.id))


def test_a_room_admin_schedules_an_active_post_and_answers_for_it(posts: Schedules) -> None:
    schedule = add(posts)

    assert (schedule.status, schedule.steward) == (store.ACTIVE, ADMIN)
    assert schedule.text == "Assembly at noon, bring food"
    assert schedule.when_text == "tomorrow 9:00"
    assert schedule.next_due is not None
    assert schedule.next_due > utcnow()
    assert posts.scheduler.has(job_id(schedule.id))


def test_a_replayed_add_returns_the_first_schedule(posts: Schedules, fresh_db: Database) -> None:
    first = add(posts, command="$same")

    again = add(posts, "tomorrow 11:00 Something else", command="$same")

    assert again == first
    assert count(fresh_db) == 1


def test_members_may_not_post_to_other_rooms_even_as_drafts(
    posts: Schedules, fresh_db: Database
) -> None:
    posts.set_approval(ROOM, True)

    with pytest.raises(PermissionDenied) as refused:
        add(posts, f"--rooms {OTHER} tomorrow 9:00 Hello", author=MEMBER)

    assert services.refusal(refused.value) == (
        "Only room admins may schedule posts to other rooms.",
        {},
    )
    assert count(fresh_db) == 0


def test_an_admin_posts_only_to_rooms_they_administer(posts: Schedules, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        add(posts, f"--rooms {OTHER},!third:test tomorrow 9:00 Hello")

    assert services.refusal(refused.value) == (
        "You are not a room admin in {rooms}: you may only schedule posts to rooms you administer.",
        {"rooms": "**!third:test**"},
    )
    assert count(fresh_db) == 0
    allowed = add(posts, f"--rooms {OTHER} tomorrow 9:00 Hello")
    assert (allowed.target, allowed.rooms) == (store.TARGET_ROOMS, (OTHER,))


def test_a_group_post_needs_a_relay_group(posts: Schedules, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        add(posts, "--group tomorrow 9:00 Hello")

    assert services.refusal(refused.value) == (
        "This room is not in a relay group, so there is no group to announce to.",
        {},
    )
    assert count(fresh_db) == 0


# ---- when --------------------------------------------------------------------------------------


def test_a_moment_in_the_past_is_refused(posts: Schedules, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        add(posts, "2020-01-01 10:00 Happy new year")

    assert refused.value.message == "{when} is already past: give a moment in the future."
    assert refused.value.params["when"].startswith("`2020-01-01")
    assert count(fresh_db) == 0


def test_a_rule_that_never_fires_is_refused(posts: Schedules, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        add(posts, "cron 0 9 30 2 * Thirtieth of February")

    assert services.refusal(refused.value) == (
        "{when} has no firing left in the future.",
        {"when": "`cron 0 9 30 2 *`"},
    )
    assert count(fresh_db) == 0


def test_text_is_needed_after_the_time(posts: Schedules, fresh_db: Database) -> None:
    with pytest.raises(UsageError) as refused:
        add(posts, '"tomorrow 9:00"')

    assert services.refusal(refused.value) == ("Give the text to post after the time.", {})
    assert count(fresh_db) == 0


# ---- @room -------------------------------------------------------------------------------------


BOT_LACKS = "`@room` would notify everyone, but I (the bot) do not have the power to notify the whole room in {rooms}. Nothing was scheduled. A room admin can give me that power (the room's `notifications.room` level), or remove `@room` from the text."
AUTHOR_LACKS = "`@room` would notify everyone, but you do not have the power to notify the whole room in {rooms}. Nothing was scheduled. Remove `@room`, or ask a room admin for that power."


@pytest.mark.parametrize(
    ("author", "powers", "refusal"),
    [
        (ADMIN, {(ROOM, ADMIN): 50}, BOT_LACKS),  # the bot may not notify the room
        (ROOT, {(ROOM, BOT): 100}, AUTHOR_LACKS),  # a bot admin, not allowed to notify here
    ],
)
def test_at_room_is_refused_when_the_author_or_the_bot_lacks_the_power(
    posts: Schedules, w: World, author: str, powers: dict[tuple[str, str], int], refusal: str
) -> None:
    w.fake.power.clear()
    w.fake.power.update(powers)

    with pytest.raises(CommandError) as refused:
        add(posts, "tomorrow 9:00 @room the assembly starts", author=author)

    # the refusal says who lacks the power, and names the room as members know it
    assert services.refusal(refused.value) == (refusal, {"rooms": f"**{ROOM}**"})
    assert count(posts.db) == 0


def test_at_room_is_kept_when_both_may_notify(posts: Schedules, w: World) -> None:
    w.fake.power[(ROOM, BOT)] = 100

    schedule = add(posts, "tomorrow 9:00 @room the assembly starts")

    assert schedule.notify_room


# ---- one room's schedules ----------------------------------------------------------------------


def test_another_rooms_schedule_is_as_unknown_as_a_missing_one(posts: Schedules) -> None:
    theirs = add(posts, room=OTHER)

    with pytest.raises(CommandError) as foreign:
        posts.own(ROOM, str(theirs.id))
    with pytest.raises(CommandError) as missing:
        posts.own(ROOM, str(theirs.id + 100))

    assert services.refusal(foreign.value) == (
        "There is no schedule #{id} in this room.",
        {"id": theirs.id},
    )
    assert missing.value.message == foreign.value.message
    assert posts.own(OTHER, f"#{theirs.id}") == theirs


def test_a_removed_schedule_is_unknown(posts: Schedules) -> None:
    schedule = add(posts)
    posts.remove_in(ROOM, str(schedule.id))

    with pytest.raises(CommandError) as refused:
        posts.own(ROOM, str(schedule.id))

    assert refused.value.message == "There is no schedule #{id} in this room."
    assert not posts.scheduler.has(job_id(schedule.id))


def test_a_draft_cannot_be_paused(posts: Schedules) -> None:
    posts.set_approval(ROOM, True)
    draft = add(posts, author=MEMBER)

    with pytest.raises(CommandError) as refused:
        posts.pause_in(ROOM, str(draft.id))

    assert services.refusal(refused.value) == (
        "Schedule #{id} is not active.",
        {"id": draft.id},
    )
    assert current(posts, draft).status == store.DRAFT


def test_pausing_unplans_and_resuming_plans_again(posts: Schedules) -> None:
    schedule = add(posts)

    paused = posts.pause_in(ROOM, str(schedule.id))
    assert (paused.status, paused.pause_reason) == (store.PAUSED, "manual")
    assert not posts.scheduler.has(job_id(schedule.id))

    resumed = posts.resume_in(ROOM, str(schedule.id), ADMIN)
    assert (resumed.status, resumed.steward) == (store.ACTIVE, ADMIN)
    assert posts.scheduler.has(job_id(schedule.id))


def test_a_draft_is_approved_not_resumed(posts: Schedules) -> None:
    posts.set_approval(ROOM, True)
    draft = add(posts, author=MEMBER)

    with pytest.raises(CommandError) as refused:
        posts.resume_in(ROOM, str(draft.id), ADMIN)

    assert services.refusal(refused.value) == (
        "Schedule #{id} is a draft: approve it with {approve}.",
        {"id": draft.id, "approve": f"`!schedule approve {draft.id}`"},
    )
    assert current(posts, draft).status == store.DRAFT


def test_approving_a_draft_makes_the_approver_answer_for_it(posts: Schedules) -> None:
    posts.set_approval(ROOM, True)
    draft = add(posts, author=MEMBER)

    approved = posts.approve_in(ROOM, str(draft.id), ADMIN)
    again = posts.approve_in(ROOM, str(draft.id), ADMIN)

    assert (approved.status, approved.author, approved.steward) == (store.ACTIVE, MEMBER, ADMIN)
    assert again == approved
    assert posts.scheduler.has(job_id(draft.id))


def test_only_a_draft_can_be_approved(posts: Schedules) -> None:
    schedule = add(posts)
    posts.pause_in(ROOM, str(schedule.id))

    with pytest.raises(CommandError) as refused:
        posts.approve_in(ROOM, str(schedule.id), ADMIN)

    assert services.refusal(refused.value) == (
        "Schedule #{id} is not a draft.",
        {"id": schedule.id},
    )
    assert current(posts, schedule).status == store.PAUSED


# ---- editing -----------------------------------------------------------------------------------


def test_editing_the_when_replans_the_next_firing(posts: Schedules) -> None:
    schedule = add(posts)

    edited = posts.edit(ROOM, ADMIN, f"{schedule.id} when every monday 18:00", lang="en")

    assert edited.when_text == "every monday 18:00"
    assert edited.kind == "rrule"
    assert edited.next_due is not None
    assert edited.next_due != schedule.next_due
    assert (edited.next_due.weekday(), edited.next_due.hour) == (0, 18)
    assert current(posts, schedule) == edited


def test_editing_to_a_past_when_changes_nothing(posts: Schedules) -> None:
    schedule = add(posts)

    with pytest.raises(CommandError) as refused:
        posts.edit(ROOM, ADMIN, f"{schedule.id} when 2020-01-01 10:00", lang="en")

    assert refused.value.message == "{when} is already past: give a moment in the future."
    assert current(posts, schedule) == schedule


def test_editing_the_text(posts: Schedules) -> None:
    schedule = add(posts)

    edited = posts.edit(ROOM, ADMIN, f"{schedule.id} text Assembly moved to the park", lang="en")

    assert edited.text == "Assembly moved to the park"
    assert edited.next_due == schedule.next_due


def test_a_new_text_with_at_room_needs_the_power_to_notify(posts: Schedules) -> None:
    schedule = add(posts)  # the bot has no power to notify ROOM

    with pytest.raises(CommandError) as refused:
        posts.edit(ROOM, ADMIN, f"{schedule.id} text @room now", lang="en")

    assert refused.value.params == {"rooms": f"**{ROOM}**"}
    assert current(posts, schedule) == schedule


def test_only_when_and_text_can_be_edited(posts: Schedules) -> None:
    schedule = add(posts)

    with pytest.raises(UsageError) as refused:
        posts.edit(ROOM, ADMIN, f"{schedule.id} colour red", lang="en")

    assert services.refusal(refused.value) == (
        "I can change `when` or `text`, not {field}.",
        {"field": "`colour`"},
    )
    assert current(posts, schedule) == schedule
