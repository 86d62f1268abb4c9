"""Packing properties: every object once, in order, each body within the limit, minimum count."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_akamai.exceptions import ObjectTooLarge
from django_akamai.packing import (
    MAX_BODY_BYTES,
    check_all_fit,
    check_fits,
    count_fitting,
    encode_body,
    encoded_size,
    split_batches,
)

path_chars = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
urls = st.builds(lambda p: "https://www.example.com/" + p, st.text(path_chars, max_size=400))


def reference_minimum(objects, max_bytes):
    """An independent count: grow each body while its real JSON encoding stays in the limit."""
    count, current = 0, []
    for obj in objects:
        candidate = current + [obj]
        if (
            len(
                json.dumps(
                    {"objects": candidate}, separators=(",", ":"), ensure_ascii=False
                ).encode()
            )
            <= max_bytes
        ):
            current = candidate
        else:
            count += 1
            current = [obj]
    return count + (1 if current else 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(urls, max_size=300), st.integers(min_value=500, max_value=5000))
def test_packing_sends_everything_once_in_order_within_limit(objects, max_bytes):
    fitting = [o for o in objects if len(encode_body({"objects": [o]})) <= max_bytes]
    batches = split_batches(fitting, max_bytes=max_bytes)
    assert [o for batch in batches for o in batch] == fitting
    for batch in batches:
        assert batch
        assert len(encode_body({"objects": batch})) <= max_bytes
    assert len(batches) == reference_minimum(fitting, max_bytes)


@settings(max_examples=100, deadline=None)
@given(st.lists(urls, min_size=1, max_size=200), st.integers(min_value=1, max_value=50))
def test_object_cap_is_respected(objects, cap):
    batches = split_batches(objects, max_objects=cap)
    assert all(len(batch) <= cap for batch in batches)
    assert [o for batch in batches for o in batch] == objects


def test_body_exactly_at_limit_fits_and_one_byte_more_does_not():
    envelope = len(b'{"objects":[""]}')
    exact = "x" * (MAX_BODY_BYTES - envelope)
    assert count_fitting([exact]) == 1
    assert count_fitting([exact + "y"]) == 0


def test_check_all_fit_refuses_exactly_what_check_fits_refuses():
    envelope = len(b'{"objects":[]}')
    exact = "x" * (MAX_BODY_BYTES - envelope - 2)  # its two quotes fill the body to the byte
    escaped = "\u0001" * ((MAX_BODY_BYTES - envelope - 2) // 6)  # 6 bytes each in JSON
    check_all_fit(["/a", exact, escaped, 12345], envelope=envelope)
    check_fits(exact, envelope=envelope)
    for too_long in (exact + "y", escaped + "\u0001"):
        with pytest.raises(ObjectTooLarge) as refused:
            check_all_fit(["/a", too_long, "/b"], envelope=envelope)
        assert refused.value.value == too_long
        with pytest.raises(ObjectTooLarge):
            check_fits(too_long, envelope=envelope)


def test_multibyte_characters_are_counted_in_bytes():
    # 'é' is one character but two bytes of UTF-8; a character count would overfill the body.
    objects = ["é" * 1000] * 60
    for batch in split_batches(objects):
        assert len(encode_body({"objects": batch})) <= MAX_BODY_BYTES
    assert len(split_batches(objects)) == reference_minimum(objects, MAX_BODY_BYTES)


@given(st.one_of(st.text(), st.integers(min_value=1)))
def test_encoded_size_is_the_bytes_the_body_encoder_writes(obj):
    body = encode_body({"objects": [obj]})
    assert encoded_size(obj) == len(body) - len(encode_body({"objects": []}))


def naive_count(objects, max_bytes, max_objects, start):
    """One object at a time, the body encoded in full each time: slow and obviously right."""
    count = 0
    while start + count < len(objects) and (max_objects is None or count < max_objects):
        if len(encode_body({"objects": objects[start : start + count + 1]})) > max_bytes:
            break
        count += 1
    return count


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.lists(urls, max_size=700),
        st.lists(st.integers(min_value=1, max_value=10**9), max_size=700),
    ),
    st.integers(min_value=20, max_value=20_000),
    st.one_of(st.none(), st.integers(min_value=1, max_value=600)),
    st.integers(min_value=0, max_value=50),
)
def test_count_fitting_agrees_with_encoding_the_body(objects, max_bytes, max_objects, start):
    assert count_fitting(
        objects, max_bytes=max_bytes, max_objects=max_objects, start=start
    ) == naive_count(objects, max_bytes, max_objects, start)
