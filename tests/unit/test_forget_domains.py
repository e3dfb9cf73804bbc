"""Each storage domain forgets one member and nothing else; exports hide what must stay hidden."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.aid import store as aid
from bot.app import Application
from bot.core.config import from_dict
from bot.core.storage.database import Database, utcnow
from bot.gatherings import store as gatherings
from bot.places import store as places
from bot.relay import store as relay
from bot.schedules import store as schedules
from tests.support.fakematrix import FakeMatrix

ALICE = "@alice:x"
BOB = "@bob:x"
CAROL = "@carol:x"


def rows(db: Database, table: str, order: str = "rowid") -> list[dict[str, Any]]:
    return db.query(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608


# ---- gatherings ------------------------------------------------------------------------------


def gathering(db: Database, gid: str, creator: str, capacity: int | None = None) -> None:
    made = gatherings.insert(
        db,
        gatherings.Gathering(
            id=gid,
            command_event_id=f"$make-{gid}",
            room_id="!room:x",
            creator=creator,
            lang="en",
            title=f"Meeting {gid}",
            starts_at=utcnow() + timedelta(days=1),
            tz="UTC",
            capacity=capacity,
        ),
    )
    assert made is not None
    gatherings.add_reminder(db, gid, utcnow() + timedelta(days=1), 3600, utcnow())


def test_gatherings_forget_rsvps_and_creator_name_only(fresh_db: Database) -> None:
    gathering(fresh_db, "g1", ALICE)
    gathering(fresh_db, "g2", BOB, capacity=1)
    gatherings.set_rsvp(fresh_db, "g1", ALICE, "!room:x", "yes", capacity=None)
    gatherings.set_rsvp(fresh_db, "g1", BOB, "!room:x", "maybe", capacity=None)
    gatherings.set_rsvp(fresh_db, "g2", ALICE, "!room:x", "yes", capacity=1)
    waiting, _ = gatherings.set_rsvp(fresh_db, "g2", CAROL, "!room:x", "yes", capacity=1)
    assert waiting.waiting

    erased = gatherings.forget_user(fresh_db, ALICE)

    assert erased == {"RSVPs": 2, "your name on gatherings you created": 1}
    assert gatherings.rsvp_of(fresh_db, "g1", ALICE) is None
    assert gatherings.rsvp_of(fresh_db, "g2", ALICE) is None
    bob = gatherings.rsvp_of(fresh_db, "g1", BOB)
    assert bob is not None
    assert bob.answer == "maybe"
    # her freed place goes to the first on the waiting list
    carol = gatherings.rsvp_of(fresh_db, "g2", CAROL)
    assert carol is not None
    assert not carol.waiting
    g1 = gatherings.get(fresh_db, "g1")
    g2 = gatherings.get(fresh_db, "g2")
    assert g1 is not None
    assert g2 is not None
    assert g1.creator == ""
    assert g1.title == "Meeting g1"
    assert g1.command_event_id != "$make-g1"
    assert g2.creator == BOB
    assert len(gatherings.reminders_of(fresh_db, "g1")) == 1
    assert ALICE not in json.dumps(rows(fresh_db, "gatherings") + rows(fresh_db, "gathering_rsvps"))
    # a second run finds nothing left
    assert gatherings.forget_user(fresh_db, ALICE) == {
        "RSVPs": 0,
        "your name on gatherings you created": 0,
    }


def test_gatherings_export_has_no_feed_tokens(fresh_db: Database) -> None:
    gathering(fresh_db, "g1", ALICE)
    gatherings.set_rsvp(fresh_db, "g1", BOB, "!room:x", "yes", capacity=None)
    gatherings.feed_token(fresh_db, "room:!room:x", "capability-secret")
    exported = gatherings.export_rows(fresh_db, (ALICE,))
    assert [g["id"] for g in exported["events"]] == ["g1"]
    assert [(r["user_id"], r["answer"]) for r in exported["events.rsvps"]] == [(BOB, "yes")]
    assert "capability-secret" not in json.dumps(exported)


# ---- places ----------------------------------------------------------------------------------


def test_places_keep_the_place_and_drop_the_creator(fresh_db: Database) -> None:
    places.add(fresh_db, "nour", "$p1", name="Salle Nour", creator=ALICE, room_id="!r:x")
    places.add(fresh_db, "grange", "$p2", name="La Grange", creator=BOB, room_id="!r:x")
    places.add(fresh_db, "old", "$p3", name="Old", creator=ALICE, room_id="!r:x")
    places.remove(fresh_db, "old")

    assert places.forget_user(fresh_db, ALICE) == {"your name on places you registered": 2}

    nour = places.get(fresh_db, "nour")
    grange = places.get(fresh_db, "grange")
    assert nour is not None
    assert grange is not None
    assert (nour.name, nour.creator) == ("Salle Nour", "")
    assert grange.creator == BOB
    assert ALICE not in json.dumps(rows(fresh_db, "places"))
    assert "$p1" not in json.dumps(rows(fresh_db, "places"))
    assert places.forget_user(fresh_db, ALICE) == {"your name on places you registered": 0}


def test_places_export_leaves_out_contacts_and_removed_places(fresh_db: Database) -> None:
    places.add(
        fresh_db, "nour", "$p1", name="Salle Nour", creator=ALICE, room_id="!r:x",
        contact="+216 00 000 000",
    )  # fmt: skip
    places.add(fresh_db, "old", "$p2", name="Old", creator=ALICE, room_id="!r:x")
    places.remove(fresh_db, "old")
    exported = places.export_rows(fresh_db, ())
    assert [(p["id"], p["name"], p["rooms"]) for p in exported["places"]] == [
        ("nour", "Salle Nour", ["!r:x"])
    ]
    assert "contact" not in exported["places"][0]
    assert "+216" not in json.dumps(exported)


# ---- aid -------------------------------------------------------------------------------------


def request(
    db: Database, event_id: str, requester: str, visibility: str = "network", **extra: Any
) -> aid.AidRequest:
    new = aid.NewRequest(
        event_id=event_id,
        room_id="!asked:x",
        lang="en",
        requester=requester,
        category=extra.get("category", "housing"),
        urgency="this_week",
        city="Lyon",
        country="France",
        needed_by=None,
        description=f"bed for {requester.split(':')[0][1:].upper()}",
        visibility=visibility,
        notify_dm=False,
    )
    made, _ = aid.create_request(db, new, utcnow())
    return made


def offer(db: Database, event_id: str, offerer: str, request_id: int | None) -> aid.Offer:
    made, _ = aid.add_offer(
        db, event_id=event_id, request_id=request_id, offerer=offerer, room_id="!o:x",
        lang="en", category="housing", city="Lyon", country="France", until=None,
        text=f"a sofa from {offerer}", now=utcnow(),
    )  # fmt: skip
    return made


def claim(db: Database, request_id: int, who: str, event_id: str) -> None:
    entry = aid.change(
        db, request_id, event_id=event_id, actor=who, action="claim", status="in_progress",
        note=f"{who} on it", now=utcnow(), expect=("open",), claimer=who, claim_room="!c:x",
    )  # fmt: skip
    assert entry is not None


def test_aid_forgets_one_member_and_keeps_the_records(fresh_db: Database) -> None:
    mine = request(fresh_db, "$r1", ALICE)
    theirs = request(fresh_db, "$r2", BOB)
    claim(fresh_db, mine.key, BOB, "$c1")
    claim(fresh_db, theirs.key, ALICE, "$c2")
    standing = offer(fresh_db, "$o1", ALICE, None)
    other_standing = offer(fresh_db, "$o2", BOB, None)
    offer(fresh_db, "$o3", ALICE, theirs.key)
    bobs_offer = offer(fresh_db, "$o4", BOB, mine.key)
    aid.record_match(fresh_db, standing.id, theirs.key, utcnow())
    aid.record_match(fresh_db, other_standing.id, mine.key, utcnow())
    aid.set_dm_room(fresh_db, ALICE, "!dm-alice:x", utcnow())
    aid.set_dm_room(fresh_db, BOB, "!dm-bob:x", utcnow())
    aid.add_coordinator_room(fresh_db, "!coord:x", ALICE, utcnow())

    erased = aid.forget_user(fresh_db, ALICE)

    assert erased == {
        "standing offers": 1,
        "offers on aid requests (anonymised)": 1,
        "aid requests you made (anonymised)": 1,
        "aid requests you had claimed (your claim removed)": 1,
        "your name in aid request histories": 3,  # asked #1, claimed #2, offered on #2
        "record of your direct chat with me": 1,
        "your name on coordinators' rooms you added": 1,
    }
    # her request: anonymised as by !aid forget, closed, kept for the records
    kept = aid.get_request(fresh_db, mine.key)
    assert kept is not None
    assert (kept.requester, kept.description, kept.city, kept.room_id) == (None, "", "", "")
    assert (kept.category, kept.country, kept.status) == ("housing", "France", "closed")
    assert kept.forgotten_at is not None
    assert kept.created_at == mine.created_at
    assert [h.action for h in aid.history(fresh_db, mine.key)][-1] == "forgotten"
    # bob's request: her claim released (back to open), her offer anonymised, bob untouched
    other = aid.get_request(fresh_db, theirs.key)
    assert other is not None
    assert (other.requester, other.description, other.status) == (BOB, "bed for BOB", "open")
    assert other.claimer is None
    assert [(o.offerer, o.text) for o in aid.offers_on(fresh_db, theirs.key)] == [(None, "")]
    bob_history = [(h.action, h.actor, h.note) for h in aid.history(fresh_db, theirs.key)]
    assert bob_history[:3] == [("created", BOB, None), ("claim", "", None), ("offer", "", None)]
    # standing offers: hers gone with its match, bob's and its match kept
    assert [o.offerer for o in aid.standing_offers(fresh_db, utcnow())] == [BOB]
    assert aid.matches(fresh_db) == [(other_standing.id, mine.key)]
    assert aid.dm_room(fresh_db, ALICE) is None
    assert aid.dm_room(fresh_db, BOB) == "!dm-bob:x"
    assert aid.coordinator_rooms(fresh_db) == ["!coord:x"]
    assert [o.id for o in aid.offers_on(fresh_db, mine.key)] == [bobs_offer.id]
    # nothing in the aid tables names her or points at her events any more
    dump = json.dumps(
        [rows(fresh_db, t) for t in ("aid_requests", "aid_history", "aid_offers", "aid_dm_rooms")]
        + [rows(fresh_db, "aid_coordinator_rooms", "room_id")]
    )
    for trace in (ALICE, "$r1", "$c2", "$o1", "$o3", "a sofa from @alice:x", "bed for ALICE"):
        assert trace not in dump, trace
    assert BOB in dump
    # repeating erases nothing more
    assert sum(aid.forget_user(fresh_db, ALICE).values()) == 0


def test_aid_export_shows_admins_every_request_but_no_anonymous_requester(
    fresh_db: Database,
) -> None:
    request(fresh_db, "$r1", ALICE, "network")
    request(fresh_db, "$r2", BOB, "coordinators")
    request(fresh_db, "$r3", CAROL, "anonymous")

    exported = aid.export_rows(fresh_db, ("@admin:x",))["aid_requests"]
    assert [(r["visibility"], r["requester"]) for r in exported] == [
        ("network", ALICE),
        ("coordinators", BOB),
        ("anonymous", None),
    ]
    anonymous = exported[2]
    assert anonymous["room_id"] is None
    assert CAROL not in json.dumps(exported)
    assert "$r3" not in json.dumps(exported)

    # with no bot admin configured, nobody may see the private requests
    public = aid.export_rows(fresh_db, ())["aid_requests"]
    assert [r["requester"] for r in public] == [ALICE]


# ---- relay -----------------------------------------------------------------------------------


def test_relay_forgets_the_map_rows_of_her_events_only(fresh_db: Database) -> None:
    relay.link(fresh_db, "!a:x", "g", "fr", "two-way", ALICE)
    relay.link(fresh_db, "!b:x", "g", "es", "two-way", BOB)
    relay.add_term(fresh_db, "g", "Mujawara", ALICE)
    relay.set_space(fresh_db, "g", "!space:x", "Mujawara", True, ALICE)
    relay.record_source(fresh_db, "$hers", "!a:x", ALICE, "g", "message")
    relay.record_copy(fresh_db, "$hers", "!b:x", "$hers-copy")
    relay.record_source(fresh_db, "$her-reaction", "!a:x", ALICE, "g", "reaction")
    relay.record_copy(fresh_db, "$her-reaction", "!b:x", "$r-copy", ("$his-copy", "👍"))
    relay.record_source(fresh_db, "$his", "!b:x", BOB, "g", "message")
    relay.record_copy(fresh_db, "$his", "!a:x", "$his-copy")
    # the group's stewardship and history name her: a steward room, a code, a request she
    # approved, and the announcements of both
    relay.add_steward(fresh_db, "g", "!a:x", ALICE)
    relay.add_code(fresh_db, "abcd-efgh-jkmn", "g", ALICE, utcnow() + timedelta(hours=1))
    relay.add_request(
        fresh_db, request_id="r2d2", group="g", room_id="!c:x", language="en", mode="receive",
        requested_by=BOB, command_event_id="$ask", room_name="Cee", members=3, encrypted=False,
    )  # fmt: skip
    relay.decide_request(fresh_db, "r2d2", "approved", ALICE)
    relay.record(fresh_db, "g", ALICE, "approved", "!c:x", {"request": "r2d2"})
    relay.record(fresh_db, "g", BOB, "linked-with-code", "!d:x", {"issuer": ALICE})

    erased = relay.forget_user(fresh_db, ALICE)

    assert erased == {
        "records of your relayed messages": 2,
        "links to the relayed copies of your messages": 2,
        "your name on relay links, glossary terms and group spaces": 3,
        "your name in the relay groups' requests, codes and history": 5,
    }
    assert relay.origin_of(fresh_db, "$hers-copy") is None
    assert relay.source(fresh_db, "$hers") is None
    assert not relay.has_reaction(fresh_db, "!b:x", "$his-copy", "👍")
    his = relay.origin_of(fresh_db, "$his-copy")
    assert his is not None
    assert his.sender == BOB
    assert relay.copies_of(fresh_db, "$his") == [relay.RelayCopy("$his", "!a:x", "$his-copy")]
    assert relay.glossary(fresh_db, "g") == ["Mujawara"]
    assert [r.room_id for r in relay.group_rooms(fresh_db, "g")] == ["!a:x", "!b:x"]
    tables = (
        "relay_links", "relay_glossary", "relay_stewards", "relay_codes", "relay_requests",
        "relay_audit",
    )  # fmt: skip
    dump = json.dumps([rows(fresh_db, t) for t in tables])
    assert ALICE not in dump
    assert BOB in dump
    # what she did stays recorded, without her name
    assert [e.action for e in relay.history(fresh_db, "g", 10)] == ["approved", "linked-with-code"]
    assert relay.steward_rooms(fresh_db, "g") == ["!a:x"]


# ---- schedules -------------------------------------------------------------------------------


def schedule(
    db: Database, event_id: str, author: str, steward: str | None, status: str
) -> schedules.Schedule:
    due = utcnow() + timedelta(hours=1)
    made, _ = schedules.create(
        db,
        schedules.NewSchedule(
            room_id="!r:x", author=author, steward=steward, command_event_id=event_id,
            when=due, when_text="in an hour", tz="UTC", text=f"text by {author}",
            language="en", target=schedules.TARGET_ROOM, rooms=(), notify_room=False,
            status=status, next_due=due if status == schedules.ACTIVE else None,
        ),
    )  # fmt: skip
    return made


def test_schedules_delete_her_drafts_pause_what_she_answered_for_and_drop_her_name(
    fresh_db: Database,
) -> None:
    draft = schedule(fresh_db, "$s1", ALICE, None, schedules.DRAFT)
    removed = schedule(fresh_db, "$s2", ALICE, ALICE, schedules.ACTIVE)
    schedules.set_status(fresh_db, removed.id, schedules.REMOVED)
    own = schedule(fresh_db, "$s3", ALICE, ALICE, schedules.ACTIVE)
    approved_by_bob = schedule(fresh_db, "$s4", ALICE, BOB, schedules.ACTIVE)
    approved_by_her = schedule(fresh_db, "$s5", CAROL, ALICE, schedules.ACTIVE)
    bobs = schedule(fresh_db, "$s6", BOB, BOB, schedules.ACTIVE)
    bobs_draft = schedule(fresh_db, "$s7", BOB, None, schedules.DRAFT)
    schedules.record_outcome(
        fresh_db, own.id, utcnow(), schedules.BLOCKED, detail=f"{ALICE} is no longer a room admin"
    )

    erased = schedules.forget_user(fresh_db, ALICE)

    assert erased == {
        "your draft and removed scheduled posts": 2,
        "your name on scheduled posts": 3,
        "scheduled posts paused until a room admin resumes them": 2,
    }
    assert schedules.get(fresh_db, draft.id) is None
    assert schedules.get(fresh_db, removed.id) is None

    def state(item: schedules.Schedule) -> tuple[str, str | None, str, str]:
        found = schedules.get(fresh_db, item.id)
        assert found is not None
        return found.author, found.steward, found.status, found.text

    assert state(own) == ("", None, schedules.PAUSED, "text by @alice:x")
    assert state(approved_by_bob) == ("", BOB, schedules.ACTIVE, "text by @alice:x")
    assert state(approved_by_her) == (CAROL, None, schedules.PAUSED, "text by @carol:x")
    assert state(bobs) == (BOB, BOB, schedules.ACTIVE, "text by @bob:x")
    assert state(bobs_draft) == (BOB, None, schedules.DRAFT, "text by @bob:x")
    (firing,) = schedules.recent_firings(fresh_db, own.id)
    assert firing.detail == "… is no longer a room admin"
    dump = json.dumps([rows(fresh_db, t) for t in ("schedules", "schedule_firings")])
    assert ALICE not in dump.replace("text by @alice:x", "")
    assert "$s3" not in dump


def test_schedules_export_leaves_out_removed_posts(fresh_db: Database) -> None:
    kept = schedule(fresh_db, "$s1", ALICE, ALICE, schedules.ACTIVE)
    gone = schedule(fresh_db, "$s2", ALICE, ALICE, schedules.ACTIVE)
    schedules.set_status(fresh_db, gone.id, schedules.REMOVED)
    exported = schedules.export_rows(fresh_db, ())
    assert [s["id"] for s in exported["schedules"]] == [kept.id]
    assert exported["schedules"][0]["rooms"] == []
    assert exported["schedules.firings"] == []


# ---- all domains together ----------------------------------------------------------------------


@pytest.fixture
def whole_bot(tmp_path: Path) -> Iterator[Application]:
    """Every real feature over one database (no homeserver)."""
    config = from_dict(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@liaison:x",
                "password": "x",
            },
            "storage": {"data_dir": str(tmp_path)},
        },
        environ={},
    )
    app = Application(config, matrix=FakeMatrix())  # type: ignore[arg-type]
    app.db.migrate(app.migrations)
    yield app
    app.db.close()


def test_forget_registry_reaches_every_real_domain(whole_bot: Application) -> None:
    fresh_db = whole_bot.db
    gathering(fresh_db, "g1", BOB)
    gatherings.set_rsvp(fresh_db, "g1", ALICE, "!room:x", "yes", capacity=None)
    offer(fresh_db, "$o1", ALICE, None)
    request(fresh_db, "$r1", ALICE)
    relay.record_source(fresh_db, "$hers", "!a:x", ALICE, "g", "message")
    relay.record_copy(fresh_db, "$hers", "!b:x", "$hers-copy")

    report = whole_bot.data_rights.forget(ALICE)

    nonzero = {label: n for label, n in report.erased.items() if n}
    assert nonzero == {
        "RSVPs": 1,
        "standing offers": 1,
        "aid requests you made (anonymised)": 1,
        "your name in aid request histories": 1,
        "records of your relayed messages": 1,
        "links to the relayed copies of your messages": 1,
    }
    for domain in (aid, gatherings, places, relay, schedules):
        assert set(domain.FORGET_KEEPS) <= set(report.kept)


def test_full_export_holds_no_secret_and_no_anonymous_requester(whole_bot: Application) -> None:
    fresh_db = whole_bot.db
    gathering(fresh_db, "g1", BOB)
    gatherings.feed_token(fresh_db, "room:!room:x", "capability-secret")
    places.add(
        fresh_db, "nour", "$p1", name="Salle Nour", creator=ALICE, room_id="!r:x",
        contact="nour@example.org",
    )  # fmt: skip
    request(fresh_db, "$r1", CAROL, "anonymous")
    schedule(fresh_db, "$s1", ALICE, ALICE, schedules.ACTIVE)

    document = whole_bot.data_rights.export(["@admin:x"])

    assert document["missing"] == []
    assert document["sources"]["aid_requests"] == "aid"
    assert document["sources"]["places"] == "places"
    assert document["sources"]["events"] == "gatherings"
    assert document["sources"]["schedules"] == "schedules"
    text = json.dumps(document, default=str)
    for secret in ("capability-secret", "nour@example.org", CAROL):
        assert secret not in text, secret
    assert len(document["data"]["aid_requests"]) == 1
