"""The opaque tags of an If-Match / If-None-Match list."""

from __future__ import annotations

import pytest

from app.core.etags import entity_tags


def test_one_strong_tag():
    assert entity_tags('"abc"') == {'"abc"'}


def test_a_weak_tag_is_compared_by_its_opaque_part():
    assert entity_tags('W/"abc"') == {'"abc"'}


def test_a_list_with_spaces_and_weak_and_strong_tags():
    assert entity_tags(' "a" ,W/"b",  W/"c"  ') == {'"a"', '"b"', '"c"'}


def test_duplicates_collapse():
    assert entity_tags('"a", W/"a"') == {'"a"'}


@pytest.mark.parametrize("header", ["*", " * "])
def test_a_star_comes_back_for_the_caller_to_read_as_any(header):
    assert entity_tags(header) == {"*"}


def test_the_tag_is_opaque_case_and_quotes_kept():
    # Only the exact "W/" prefix marks a weak tag; nothing else is normalised.
    assert entity_tags('"ABC", w/"x", abc') == {'"ABC"', 'w/"x"', "abc"}
