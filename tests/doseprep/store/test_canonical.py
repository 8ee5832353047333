"""Canonical JSON and the audit row hash: stable, exact, and the fast path equals the definition."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from doseprep.store.audit import row_content, row_hash
from doseprep.store.canonical import canonical_json, content_hash, is_canonical

texts = st.text() | st.none()


@given(seq=st.integers(min_value=1, max_value=2**62), at=st.text(), user_id=texts,
       action=st.text(), record_ref=texts, old=texts, new=texts, reason=texts)
def test_the_fast_row_content_is_the_canonical_json_of_the_row(seq, at, user_id, action,
                                                               record_ref, old, new, reason):
    as_dict = {"seq": seq, "at": at, "user_id": user_id, "action": action,
               "record_ref": record_ref, "old_value": old, "new_value": new, "reason": reason}
    assert row_content(seq, at, user_id, action, record_ref, old, new, reason) == (
        canonical_json(as_dict))
    expected = hashlib.sha256(("f" * 64 + canonical_json(as_dict)).encode("utf-8")).hexdigest()
    assert row_hash("f" * 64, seq, at, user_id, action, record_ref, old, new, reason) == expected


def test_canonical_json_sorts_keys_has_no_whitespace_and_keeps_unicode():
    assert canonical_json({"b": 1, "a": [1.5, "µL ×10³"], "c": None}) == (
        '{"a":[1.5,"µL ×10³"],"b":1,"c":null}')
    assert is_canonical('{"a":1}') and not is_canonical('{"a": 1}')
    assert not is_canonical('{"a":1.0e0}') and not is_canonical("not json")
    assert content_hash({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()
