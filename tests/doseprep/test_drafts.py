"""Drafts keep what was typed, survive a crash mid-save, and never silently vanish."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from doseprep import drafts
from doseprep.paths import data_dir

FIELDS = {"patient.weight": "165 lb", "product.wbc": "85.3 ×10³/µL", "patient.name": "DOE, JANE",
          "product.cd3_percent": ""}


def test_save_then_load_gives_back_exactly_what_was_typed(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 23, 14, 32, tzinfo=timezone(timedelta(hours=-8)))
    path = drafts.save(FIELDS, now=moment, extra={"lab": "/labs/mine.toml"})
    assert path == data_dir() / "drafts" / "form.json"
    assert path.is_relative_to(tmp_path), "tests must never write into a real user's data"
    draft = drafts.load()
    assert draft is not None
    assert dict(draft.fields) == FIELDS
    assert draft.saved_at == moment
    assert draft.extra == {"lab": "/labs/mine.toml"}
    assert not draft.is_empty


def test_no_draft_is_none() -> None:
    assert drafts.load() is None


def test_clear_removes_the_draft_and_is_idempotent() -> None:
    drafts.save(FIELDS)
    drafts.clear()
    assert drafts.load() is None
    drafts.clear()


def test_a_form_of_blanks_is_empty() -> None:
    drafts.save({"a": "  ", "b": ""})
    draft = drafts.load()
    assert draft is not None and draft.is_empty


def test_save_replaces_atomically_and_leaves_no_temporary_files() -> None:
    drafts.save({"patient.weight": "70 kg"})
    drafts.save({"patient.weight": "71 kg"})
    folder = drafts.drafts_dir()
    assert sorted(p.name for p in folder.iterdir()) == ["form.json"]
    assert drafts.load().fields["patient.weight"] == "71 kg"


def test_a_failed_write_keeps_the_previous_draft(monkeypatch: pytest.MonkeyPatch) -> None:
    drafts.save({"patient.weight": "70 kg"})

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(drafts.os, "replace", disk_full)
        with pytest.raises(OSError, match="No space"):
            drafts.save({"patient.weight": "99 kg"})
    assert drafts.load().fields["patient.weight"] == "70 kg"
    assert [p.name for p in drafts.drafts_dir().iterdir()] == ["form.json"]


def test_an_unreadable_draft_is_moved_aside_not_deleted() -> None:
    path = drafts.draft_path()
    path.parent.mkdir(parents=True)
    path.write_text("{half a draft", encoding="utf-8")
    assert drafts.load() is None
    assert not path.exists()
    (aside,) = path.parent.glob("form.unreadable-*.json")
    assert aside.read_text(encoding="utf-8") == "{half a draft"


@pytest.mark.parametrize("body", [
    {"format": "something-else", "version": 1},
    {"format": "doseprep-draft", "version": 99, "saved_at": "2026-11-23T10:00:00+00:00",
     "fields": {}},
    {"format": "doseprep-draft", "version": 1, "saved_at": "2026-11-23T10:00:00",
     "fields": {}},
    {"format": "doseprep-draft", "version": 1, "saved_at": "2026-11-23T10:00:00+00:00",
     "fields": {"patient.weight": 70}},
])
def test_drafts_of_another_shape_are_refused(body: dict) -> None:
    path = drafts.draft_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(body), encoding="utf-8")
    assert drafts.load() is None


def test_only_text_is_saved() -> None:
    with pytest.raises(TypeError):
        drafts.save({"patient.weight": 70})  # type: ignore[dict-item]


def test_the_time_must_have_a_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        drafts.save(FIELDS, now=datetime(2026, 11, 23, 10, 0))


def test_default_time_is_now() -> None:
    before = datetime.now(UTC)
    drafts.save(FIELDS)
    assert before <= drafts.load().saved_at <= datetime.now(UTC)


def test_drafts_are_private_to_the_user() -> None:
    path = drafts.save(FIELDS)
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0
