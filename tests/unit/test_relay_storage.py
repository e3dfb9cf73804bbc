"""Relay storage: links, glossary, the relay map both ways, failure counters, routes."""

from __future__ import annotations

import pytest

from bot.relay import store


def test_link_unlink_and_group_listing(fresh_db) -> None:
    assert store.room_link(fresh_db, "!a:x") is None
    store.link(fresh_db, "!a:x", "mujawara", "fr", "two-way", "@alice:x")
    store.link(fresh_db, "!b:x", "mujawara", "es", "receive", "@alice:x")
    store.link(fresh_db, "!c:x", "other", "en", "send", "@alice:x")
    assert [r.room_id for r in store.group_rooms(fresh_db, "mujawara")] == ["!a:x", "!b:x"]
    receive = store.room_link(fresh_db, "!b:x")
    assert receive is not None
    assert receive.receives
    assert not receive.sends
    send = store.room_link(fresh_db, "!c:x")
    assert send is not None
    assert send.sends
    assert not send.receives
    # re-linking changes language and mode in place
    store.link(fresh_db, "!a:x", "mujawara", "ar", "send", "@alice:x")
    assert store.room_link(fresh_db, "!a:x") == store.RoomLink(
        "mujawara", "!a:x", "ar", "send", False
    )
    removed = store.unlink(fresh_db, "!a:x")
    assert removed is not None
    assert removed.group == "mujawara"
    assert store.unlink(fresh_db, "!a:x") is None
    with pytest.raises(ValueError, match="mode"):
        store.link(fresh_db, "!d:x", "g", "fr", "both", "@alice:x")


def test_pause_reports_changes(fresh_db) -> None:
    store.link(fresh_db, "!a:x", "g", "fr", "two-way", "@alice:x")
    assert store.set_paused(fresh_db, "!a:x", True)
    assert not store.set_paused(fresh_db, "!a:x", True)
    link = store.room_link(fresh_db, "!a:x")
    assert link is not None
    assert not link.sends
    assert not link.receives
    assert store.set_paused(fresh_db, "!a:x", False)
    assert not store.set_paused(fresh_db, "!nowhere:x", True)


def test_glossary_ignores_case_for_duplicates_and_removal(fresh_db) -> None:
    assert store.add_term(fresh_db, "g", "Mujawara", "@a:x")
    assert not store.add_term(fresh_db, "g", "mujawara", "@a:x")
    assert store.add_term(fresh_db, "g", "Radio Zinzine", "@a:x")
    assert store.add_term(fresh_db, "other", "Mujawara", "@a:x")
    assert store.glossary(fresh_db, "g") == ["Mujawara", "Radio Zinzine"]
    assert store.remove_term(fresh_db, "g", "MUJAWARA")
    assert not store.remove_term(fresh_db, "g", "Mujawara")
    assert store.glossary(fresh_db, "g") == ["Radio Zinzine"]
    assert store.glossary(fresh_db, "other") == ["Mujawara"]


def test_relay_map_is_looked_up_both_ways(fresh_db) -> None:
    store.record_source(fresh_db, "$src", "!fr:x", "@alice:x", "g", "message")
    store.record_source(fresh_db, "$src", "!fr:x", "@mallory:x", "g", "message")  # a replay
    store.record_copy(fresh_db, "$src", "!es:x", "$es")
    store.record_copy(fresh_db, "$src", "!en:x", "$en")
    store.record_copy(fresh_db, "$src", "!en:x", "$en")  # a replay
    source = store.source(fresh_db, "$src")
    assert source is not None
    assert source.sender == "@alice:x"
    assert [c.event_id for c in store.copies_of(fresh_db, "$src")] == ["$en", "$es"]
    assert store.copy_in(fresh_db, "$src", "!es:x") == "$es"
    assert store.copy_in(fresh_db, "$src", "!ar:x") is None
    assert store.origin_of(fresh_db, "$es") == source
    assert store.origin_of(fresh_db, "$src") == source
    assert store.origin_of(fresh_db, "$unknown") is None
    assert store.is_copy(fresh_db, "$en")
    assert not store.is_copy(fresh_db, "$src")
    store.forget_copy(fresh_db, "$src", "!es:x")
    assert store.copy_in(fresh_db, "$src", "!es:x") is None


def test_reaction_copies_are_known_by_target_and_key(fresh_db) -> None:
    store.record_source(fresh_db, "$r", "!en:x", "@alice:x", "g", "reaction")
    store.record_copy(fresh_db, "$r", "!fr:x", "$rc", ("$orig", "👍"))
    assert store.has_reaction(fresh_db, "!fr:x", "$orig", "👍")
    assert not store.has_reaction(fresh_db, "!fr:x", "$orig", "❤️")
    assert not store.has_reaction(fresh_db, "!es:x", "$orig", "👍")


def test_health_and_routes_count_per_group(fresh_db) -> None:
    assert store.health(fresh_db, "g") == store.RelayHealth(0, None, None)
    store.count_untranslated(fresh_db, "g", "apertium: ClientConnectorError")
    store.count_untranslated(fresh_db, "g", None)
    health = store.health(fresh_db, "g")
    assert health.untranslated == 2
    assert health.last_error == "apertium: ClientConnectorError"
    assert health.last_error_at is not None
    assert health.last_error_at.tzinfo is not None
    store.count_route(fresh_db, "g", "fr", "en", "apertium", "es")
    store.count_route(fresh_db, "g", "fr", "en", "apertium", "es")
    store.count_route(fresh_db, "g", "fr", "es", "apertium", None)
    assert store.routes(fresh_db, "g") == [
        store.RouteUse("fr", "en", "apertium", "es", 2),
        store.RouteUse("fr", "es", "apertium", None, 1),
    ]
    assert store.routes(fresh_db, "other") == []


def test_a_room_counts_as_sending_from_its_link_resume_or_leaving_receive_only(fresh_db) -> None:
    store.link(fresh_db, "!a:x", "g", "fr", "two-way", "@alice:x")
    linked = store.sending_since_ms(fresh_db, "!a:x")
    assert linked is not None
    store.link(fresh_db, "!b:x", "g", "es", "receive", "@alice:x")
    assert store.sending_since_ms(fresh_db, "!b:x") is None

    store.set_paused(fresh_db, "!a:x", True)
    assert store.sending_since_ms(fresh_db, "!a:x") is None
    store.set_paused(fresh_db, "!a:x", False)
    resumed = store.sending_since_ms(fresh_db, "!a:x")
    assert resumed is not None
    assert resumed >= linked

    # a change of language keeps the moment; leaving receive-only starts a new one
    fresh_db.execute("UPDATE relay_links SET sending_since_ms = 5 WHERE room_id = '!a:x'")
    store.link(fresh_db, "!a:x", "g", "ar", "two-way", "@alice:x")
    assert store.sending_since_ms(fresh_db, "!a:x") == 5
    store.link(fresh_db, "!a:x", "g", "ar", "send", "@alice:x")
    assert store.sending_since_ms(fresh_db, "!a:x") == 5
    store.link(fresh_db, "!b:x", "g", "es", "two-way", "@alice:x")
    started = store.sending_since_ms(fresh_db, "!b:x")
    assert started is not None
    assert started >= linked
