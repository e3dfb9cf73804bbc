"""The compiled validation of nio's events judges exactly as nio's own jsonschema validator.

A contract between two implementations of the same rules: every nio schema, real Matrix
events, every one-step damage to them, and random JSON, each judged by both, with the same
verdict and the same defaults filled in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nio import schemas as nio_schemas
from nio.events import BadEvent, Event, RoomMemberEvent, RoomMessageText

from bot.core.matrix import validation

ALICE = "@alice:example.org"
SCHEMAS = {
    name: value for name, value in vars(nio_schemas.Schemas).items() if isinstance(value, dict)
}
FORMATS = validation.nio_formats()
# nio's schema for a device-deletion answer is itself malformed (a "required" list where a
# property belongs): fastjsonschema refuses it, and the factory leaves it to nio's validator
MALFORMED = {"delete_devices"}
COMPILED = {
    name: validation.compile_schema(schema, FORMATS)
    for name, schema in SCHEMAS.items()
    if name not in MALFORMED
}
# nio's own validator, whether or not the compiled one is installed in this process
REFERENCE = getattr(nio_schemas.Validator, "original", nio_schemas.Validator)


def base(event_type: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "content": content,
        "sender": ALICE,
        "event_id": "$ev1:example.org",
        "origin_server_ts": 1764590000000,
        "unsigned": {"age": 12},
        **extra,
    }


CORPUS: list[dict[str, Any]] = [
    base("m.room.message", {"msgtype": "m.text", "body": "Réunion à 18h"}),
    base(
        "m.room.message",
        {
            "msgtype": "m.notice",
            "body": "> <@bob:example.org> hi\n\nhello",
            "format": "org.matrix.custom.html",
            "formatted_body": "<p>hello</p>",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$ev0:example.org"}},
        },
    ),
    base("m.room.message", {"msgtype": "m.emote", "body": "waves"}),
    base(
        "m.room.message",
        {"msgtype": "m.image", "body": "a.png", "url": "mxc://example.org/abc", "info": {}},
    ),
    base("m.room.member", {"membership": "join", "displayname": "Alice"}, state_key=ALICE),
    base("m.room.member", {"membership": "invite"}, state_key="@bot:example.org"),
    base(
        "m.room.power_levels",
        {
            "users": {ALICE: 100},
            "users_default": 0,
            "events": {"m.room.name": 50},
            "events_default": 0,
            "state_default": 50,
            "ban": 50,
            "kick": 50,
            "redact": 50,
            "invite": 0,
            "notifications": {"room": 50},
        },
        state_key="",
    ),
    base("m.room.create", {"creator": ALICE, "room_version": "10"}, state_key=""),
    base("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, state_key=""),
    base("m.room.name", {"name": "Mujawara"}, state_key=""),
    base("m.room.topic", {"topic": "Rencontres"}, state_key=""),
    base("m.room.join_rules", {"join_rule": "invite"}, state_key=""),
    base("m.room.history_visibility", {"history_visibility": "shared"}, state_key=""),
    base("m.room.canonical_alias", {"alias": "#m:example.org"}, state_key=""),
    base(
        "m.room.encrypted",
        {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnAC",
            "device_id": "DEV",
            "sender_key": "c2VuZGVy",
            "session_id": "c2Vzc2lvbg",
        },
    ),
    base("m.room.redaction", {"reason": "spam"}, redacts="$ev0:example.org"),
    base(
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$e:x.org", "key": "👍"}},
    ),
    {
        "type": "m.room_key",
        "sender": ALICE,
        "content": {
            "algorithm": "m.megolm.v1.aes-sha2",
            "room_id": "!r:example.org",
            "session_id": "c2Vzc2lvbg",
            "session_key": "a2V5",
        },
    },
    {
        "next_batch": "s72595_4483_1934",
        "rooms": {
            "join": {
                "!r:example.org": {
                    "state": {"events": []},
                    "timeline": {
                        "events": [base("m.room.message", {"msgtype": "m.text", "body": "x"})],
                        "limited": False,
                        "prev_batch": "t1",
                    },
                }
            },
            "invite": {},
            "leave": {},
        },
        "to_device": {"events": []},
    },
]

DAMAGE: list[Any] = [None, 7, 1.5, True, "x", "bob", [], {}, [1], {"a": 1}]


def judge(check: Any, instance: Any) -> tuple[bool, Any]:
    """The verdict and the instance as the validator left it (defaults filled in)."""
    mine = copy.deepcopy(instance)
    try:
        check.validate(mine)
    except jsonschema.ValidationError:
        return False, None
    return True, mine


def judged_alike(name: str, instance: Any) -> None:
    expected = judge(REFERENCE(SCHEMAS[name], format_checker=nio_schemas.Checker), instance)
    assert judge(COMPILED[name], instance) == expected, (name, instance)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from paths(inner, (*prefix, index))


def damaged(instance: Any) -> Iterator[Any]:
    """Every copy with one key removed or one value replaced by something of the wrong kind."""
    for path in paths(instance):
        *parent_path, last = path
        for replacement in [...] + DAMAGE:
            broken = copy.deepcopy(instance)
            parent = broken
            for step in parent_path:
                parent = parent[step]
            if replacement is ...:
                if isinstance(parent, dict):
                    del parent[last]
                else:
                    parent.pop(last)
            else:
                parent[last] = replacement
            yield broken


def test_every_well_formed_nio_schema_compiles_and_the_other_stays_with_nio() -> None:
    assert len(COMPILED) + len(MALFORMED) == len(validation.nio_schema_dicts()) > 90
    factory = validation.ValidatorFactory(REFERENCE)
    for name in MALFORMED:
        assert not isinstance(factory(SCHEMAS[name]), validation.CompiledValidator)


def test_real_events_get_the_same_verdict_from_every_schema() -> None:
    accepted = 0
    for event in CORPUS:
        for name in COMPILED:
            judged_alike(name, event)
            accepted += judge(COMPILED[name], event)[0]
    assert accepted >= len(CORPUS)  # each real event fits at least one schema


def test_every_one_step_damage_gets_the_same_verdict() -> None:
    for event in CORPUS:
        fitting = [name for name in COMPILED if judge(COMPILED[name], event)[0]]
        assert fitting, event
        for broken in damaged(event):
            for name in fitting:
                judged_alike(name, broken)


KEYS = st.sampled_from(
    ["type", "content", "sender", "event_id", "origin_server_ts", "state_key", "body",
     "msgtype", "membership", "users", "algorithm", "room_id", "unsigned", "redacts",
     "events", "rooms", "join", "timeline", "limited", "next_batch", "m.relates_to"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from([ALICE, "bob", "m.text", "m.room.message", "join", "$e:x.org"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=20,
)  # fmt: skip
HOT = ["room_event", "room_message_text", "room_membership", "room_power_levels",
       "room_encrypted", "state_event", "to_device", "sync", "room_redaction"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HOT), JSON)
def test_random_json_gets_the_same_verdict(name: str, instance: Any) -> None:
    judged_alike(name, instance)


def test_installed_nio_still_turns_a_bad_event_into_a_bad_event() -> None:
    validation.install()
    assert isinstance(nio_schemas.Validator, validation.ValidatorFactory)
    good = base("m.room.member", {"membership": "join"}, state_key=ALICE)
    assert isinstance(Event.parse_event(copy.deepcopy(good)), RoomMemberEvent)
    no_domain = {**good, "sender": "alice"}  # nio's user_id format: no homeserver part
    assert isinstance(Event.parse_event(no_domain), BadEvent)
    text = base("m.room.message", {"msgtype": "m.text", "body": "salut"})
    assert isinstance(Event.parse_event(copy.deepcopy(text)), RoomMessageText)
    assert isinstance(Event.parse_event({**text, "content": {"msgtype": "m.text"}}), BadEvent)


def test_a_schema_nio_does_not_ship_goes_to_nio_s_own_validator() -> None:
    factory = validation.ValidatorFactory(REFERENCE)
    foreign = {"type": "object", "required": ["a"]}
    assert not isinstance(factory(foreign), validation.CompiledValidator)
    assert isinstance(factory(SCHEMAS["room_event"]), validation.CompiledValidator)
