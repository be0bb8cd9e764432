"""The spill file: clicks come back exactly as they went in, a live process's file is left to it, and a line
cut short by a crash is skipped, not fatal."""

from __future__ import annotations

from pathlib import Path

from partnerloop.config import Settings
from partnerloop.tracking.batch import TargetIds, WritableClick
from partnerloop.tracking.spill import ClickSpill, spill_directory

TARGET = TargetIds("prog_1", "link_1", "partner_1")
CLICKS: list[WritableClick] = [
    (b"01click0001", TARGET, 1796400000.123456, "203.0.113.7", b"Mozilla/5.0 \xff\xfe", b"https://blog.example/",
     b"DE", b"pl_cid=01earlier; other=1"),
    (b"01click0002", TARGET, 1796400001.5, None, b"", b"", b""),
]  # fmt: skip


def test_spilled_clicks_come_back_as_they_went_in_once_their_writer_lets_go(tmp_path: Path) -> None:
    writer, replayer = ClickSpill(tmp_path), ClickSpill(tmp_path)
    writer.append(CLICKS[:1])
    writer.append(CLICKS[1:])
    assert replayer.has_files()
    assert replayer.claim() is None  # the writing process still holds its file
    writer.close()
    claimed = replayer.claim()
    assert claimed is not None
    assert claimed.clicks == CLICKS
    assert replayer.claim() is None  # claimed already
    ClickSpill.finish(claimed)
    assert not replayer.has_files()


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    spill = ClickSpill(tmp_path)
    spill.append(CLICKS)
    spill.close()
    [path] = tmp_path.glob("clicks-*.jsonl")
    with path.open("ab") as output:
        output.write(b'{"id":"01click0003","program_id":"pr')  # SIGKILL in the middle of a write
    claimed = ClickSpill(tmp_path).claim()
    assert claimed is not None and claimed.clicks == CLICKS


def test_the_spill_directory_defaults_beside_the_sqlite_file() -> None:
    assert spill_directory(Settings(database_url="sqlite:////var/lib/pl/pl.db")) == Path(
        "/var/lib/pl/pl.db.click-spill"
    )
    assert spill_directory(Settings(database_url="postgresql://db/pl")) == Path("click-spill")
    assert spill_directory(Settings(database_url="sqlite:///x.db", click_spill_dir="/spill")) == Path("/spill")
