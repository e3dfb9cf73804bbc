"""Schedule planning with a fixed clock: DST, grace periods, replayed creation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.storage.database import Database
from bot.core.time.parse import parse_when
from bot.schedules import store
from bot.schedules.service import plan_due
from bot.schedules.store import NewSchedule

PARIS = ZoneInfo("Europe/Paris")
# Thursday 2026-03-26 12:00 UTC; Europe/Paris moves to summer time on Sunday 2026-03-29.
NOW = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)


def _new(
    when: datetime | object, event_id: str = "$add1", text: str = "Weekly call"
) -> NewSchedule:
    due = when.next_after(NOW) if not isinstance(when, datetime) else when  # type: ignore[attr-defined]
    return NewSchedule(
        room_id="!room:hs",
        author="@alice:hs",
        steward="@alice:hs",
        command_event_id=event_id,
        when=when,  # type: ignore[arg-type]
        when_text="every monday 18:00",
        tz="Europe/Paris",
        text=text,
        language="en",
        target=store.TARGET_ROOM,
        rooms=(),
        notify_room=False,
        status=store.ACTIVE,
        next_due=due,
    )


def test_weekly_rule_fires_at_local_six_on_both_sides_of_the_dst_change(fresh_db: Database) -> None:
    rule = parse_when("every monday 18:00", lang="en", tz=PARIS, now=NOW)
    schedule, _ = store.create(fresh_db, _new(rule))
    assert schedule.next_due == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)  # 18:00 CEST
    # the firing before the change, then the trigger after it
    before = datetime(2026, 3, 23, 17, 0, tzinfo=UTC)  # Monday 18:00 CET
    assert schedule.next_after(before) == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    times = schedule.upcoming(NOW, 3)
    assert [t.astimezone(PARIS).strftime("%a %H:%M %Z") for t in times] == [
        "Mon 18:00 CEST",
        "Mon 18:00 CEST",
        "Mon 18:00 CEST",
    ]
    # autumn: 2026-10-25 back to CET, still 18:00 local
    autumn = schedule.next_after(datetime(2026, 10, 20, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 26, 17, 0, tzinfo=UTC)


def test_cron_rule_keeps_local_time_across_dst(fresh_db: Database) -> None:
    rule = parse_when("cron 0 18 * * 1", lang="en", tz=PARIS, now=datetime(2026, 3, 20, tzinfo=UTC))
    schedule, _ = store.create(fresh_db, _new(rule))
    fired = datetime(2026, 3, 23, 17, 0, tzinfo=UTC)
    assert schedule.next_after(fired) == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)


def test_missed_firing_inside_grace_is_sent_once_and_older_ones_skipped(fresh_db: Database) -> None:
    rule = parse_when("every day 9:00", lang="en", tz=PARIS, now=datetime(2026, 3, 1, tzinfo=UTC))
    schedule, _ = store.create(fresh_db, _new(rule))
    store.set_next_due(fresh_db, schedule.id, datetime(2026, 3, 24, 8, 0, tzinfo=UTC))
    moved = store.get(fresh_db, schedule.id)
    assert moved is not None
    schedule = moved
    # down since the 24th, back on the 26th at 08:30 UTC: the 26th 09:00 CET is 30 min ago
    plan = plan_due(schedule, datetime(2026, 3, 26, 8, 30, tzinfo=UTC), timedelta(hours=1))
    assert plan.due == datetime(2026, 3, 26, 8, 0, tzinfo=UTC)
    assert plan.missed == (
        datetime(2026, 3, 24, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 25, 8, 0, tzinfo=UTC),
    )
    # back two hours after: nothing is sent now, the next one is tomorrow
    late = plan_due(schedule, datetime(2026, 3, 26, 10, 0, tzinfo=UTC), timedelta(hours=1))
    assert late.due == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
    assert datetime(2026, 3, 26, 8, 0, tzinfo=UTC) in late.missed


def test_one_off_outside_grace_has_nothing_left(fresh_db: Database) -> None:
    moment = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
    schedule, _ = store.create(fresh_db, _new(moment))
    plan = plan_due(schedule, NOW, timedelta(hours=1))
    assert plan.due is None
    assert plan.missed == (moment,)
    inside = plan_due(schedule, moment + timedelta(minutes=59), timedelta(hours=1))
    assert inside.due == moment
    assert inside.missed == ()


def test_replayed_add_creates_nothing_new(fresh_db: Database) -> None:
    rule = parse_when("every monday 18:00", lang="en", tz=PARIS, now=NOW)
    first, created = store.create(fresh_db, _new(rule))
    again, created_again = store.create(fresh_db, _new(rule, text="different"))
    assert created
    assert not created_again
    assert again.id == first.id
    assert again.text == "Weekly call"
    assert len(store.in_room(fresh_db, "!room:hs")) == 1


def test_intent_is_recorded_once_per_due_moment(fresh_db: Database) -> None:
    moment = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    schedule, _ = store.create(fresh_db, _new(moment))
    first = store.record_intent(fresh_db, schedule.id, moment, "k1")
    second = store.record_intent(fresh_db, schedule.id, moment, "k2")
    assert first.id == second.id
    assert second.txn_key == "k1"
    store.finish_firing(fresh_db, first, {"!room:hs": "$ev"}, detail=None, next_due=None)
    done = store.get(fresh_db, schedule.id)
    assert done is not None
    assert done.status == store.DONE
    assert done.next_due is None
    assert store.pending_intents(fresh_db, schedule.id) == []
    assert store.posts(fresh_db, first.id) == {"!room:hs": "$ev"}
