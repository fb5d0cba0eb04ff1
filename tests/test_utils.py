"""Atomic file writes: all or nothing, under a name writers recognize."""

import pytest

from cgnas.utils import atomic_write, atomic_write_text


def test_atomic_write_replaces_the_file_and_keeps_the_extension_while_writing(tmp_path):
    target = tmp_path / "net.pt2"
    seen = []

    def write(tmp):
        seen.append(tmp)
        tmp.write_bytes(b"new")

    atomic_write_text(target, "old")
    assert atomic_write(target, write) == target
    assert target.read_bytes() == b"new"
    assert seen[0].suffix == ".pt2" and seen[0].parent == tmp_path and seen[0] != target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt2"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "log.json"
    atomic_write_text(target, "old")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.json"]
