"""Corpus adapters: list the clips of a corpus (CREMA-D or DFEW layout) without decoding them.

Both the embedded synthetic corpora and the real datasets go through these functions, so
ingest has one code path. An adapter returns a :class:`Listing`: the clips to decode, the
inputs it could already reject from their names/labels (with a reason), and the
label-based drops (DFEW's *surprise*), counted so that nothing disappears silently::

    len(listing.clips) + len(listing.rejected) + sum(listing.dropped.values()) == listing.n_found

Layouts
-------
CREMA-D: ``{root}/VideoFlash/{actor}_{sentence}_{EMO}_{level}.flv`` (e.g. ``1001_DFA_ANG_XX.flv``).

DFEW: ``{root}/Clip/clip_224x224/{id:05d}/*.jpg`` (one folder of frames per clip) and
``{root}/EmoLabel_DataSplit/{train,test}(single-labeled)/set_{fold}.csv`` with header
``video_name,label``; labels 1..7 = happiness, sadness, neutral, anger, surprise, disgust, fear.
Published loaders read ``video_name`` as an integer and zero-pad it to 5 digits for the
folder; some left-pad the string themselves, so both forms are accepted here. Some copies of
the data unpack with an extra level (``clip_224x224/clip_224x224/00001``): clip folders are
looked up in ``clip_224x224`` and in its non-numeric subfolders.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from ppfer_core import EMOTIONS

CREMAD_SENTENCES: tuple[str, ...] = (
    "IEO",
    "TIE",
    "IOM",
    "IWW",
    "TAI",
    "MTI",
    "IWL",
    "ITH",
    "DFA",
    "ITS",
    "TSI",
    "WSI",
)
"""The 12 sentence codes of CREMA-D."""
CREMAD_LEVELS: tuple[str, ...] = ("LO", "MD", "HI", "XX")
"""Emotion intensity codes (XX = unspecified)."""

_CREMAD_RE = re.compile(
    rf"^(?P<actor>[0-9]{{4}})_(?P<sentence>{'|'.join(CREMAD_SENTENCES)})_(?P<emotion>{'|'.join(EMOTIONS)})"
    rf"_(?P<level>{'|'.join(CREMAD_LEVELS)})\.(?i:flv)$"
)
_CREMAD_PATTERN = "{actor:4 digits}_{sentence}_{ANG|DIS|FEA|HAP|NEU|SAD}_{LO|MD|HI|XX}.flv"

DFEW_LABELS: dict[int, str] = {
    1: "happiness",
    2: "sadness",
    3: "neutral",
    4: "anger",
    5: "surprise",
    6: "disgust",
    7: "fear",
}
"""DFEW's label codes (1..7) and their names."""
DFEW_TO_CREMAD: dict[str, str] = {
    "happiness": "HAP",
    "sadness": "SAD",
    "neutral": "NEU",
    "anger": "ANG",
    "disgust": "DIS",
    "fear": "FEA",
}
"""DFEW class names mapped by name to CREMA-D codes; *surprise* has no counterpart and is dropped."""

FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class SourceClip:
    """One clip to decode."""

    source: str  # path of the video file or frame folder
    clip_id: str  # e.g. "1001_DFA_ANG_XX" or "00017"
    actor: str | None  # "1001"; None for DFEW (no identity labels)
    emotion: str  # one of ppfer_core.EMOTIONS
    sentence: str | None
    level: str | None
    split: str | None  # preset split (DFEW) or None (to be assigned)


@dataclass
class Listing:
    """What an adapter found in a corpus folder."""

    clips: list[SourceClip]
    rejected: list[tuple[str, str]]  # (source, reason) found at listing time
    dropped: dict[str, int]  # label-based drops counted, e.g. {"surprise": 12}
    n_found: int  # files/folders (CREMA-D) or CSV rows (DFEW) found
    notes: list[str] = field(default_factory=list)  # human-readable remarks for the ingest log

    def check(self) -> None:
        """Raise if the counts do not add up (every found input is a clip, a reject or a drop)."""
        total = len(self.clips) + len(self.rejected) + sum(self.dropped.values())
        if total != self.n_found:
            raise AssertionError(
                f"listing counts do not add up: {len(self.clips)} clips + {len(self.rejected)} rejected"
                f" + {sum(self.dropped.values())} dropped != {self.n_found} found"
            )


# --------------------------------------------------------------------------- CREMA-D


def parse_cremad_name(name: str) -> dict[str, str] | None:
    """Fields of a CREMA-D file name (``1001_DFA_ANG_XX.flv``), or None if it does not parse."""
    m = _CREMAD_RE.match(name)
    return m.groupdict() if m else None


def list_cremad(root: Path) -> Listing:
    """List ``{root}/VideoFlash/*``; every visible entry counts as found, a non-CREMA-D name is
    rejected. Hidden entries (``.name``, e.g. Snakemake's ``.snakemake_timestamp``) are skipped
    and counted in the listing's notes.

    ``root`` may also be the ``VideoFlash`` folder itself.
    """
    root = Path(root)
    folder = root / "VideoFlash"
    if not folder.is_dir():
        if root.is_dir() and root.name == "VideoFlash":
            folder = root
        else:
            raise FileNotFoundError(f"CREMA-D folder {folder} does not exist")
    clips: list[SourceClip] = []
    rejected: list[tuple[str, str]] = []
    everything = sorted(folder.iterdir(), key=lambda p: p.name)
    entries = [p for p in everything if not p.name.startswith(".")]
    for path in entries:
        fields = parse_cremad_name(path.name)
        if fields is None:
            rejected.append((str(path), f"unparsable name: {path.name!r} (expected {_CREMAD_PATTERN})"))
            continue
        if not path.is_file():
            rejected.append((str(path), "not a file"))
            continue
        clips.append(
            SourceClip(
                source=str(path),
                clip_id=path.name[: -len(".flv")],
                actor=fields["actor"],
                emotion=fields["emotion"],
                sentence=fields["sentence"],
                level=fields["level"],
                split=None,
            )
        )
    listing = Listing(clips=clips, rejected=rejected, dropped={}, n_found=len(entries))
    listing.notes.append(
        f"CREMA-D {folder}: {len(entries)} entries, {len(clips)} clips of "
        f"{len({c.actor for c in clips})} actors, {len(rejected)} rejected by name, "
        f"{len(everything) - len(entries)} hidden entries skipped"
    )
    listing.check()
    return listing


# --------------------------------------------------------------------------- DFEW


def _dfew_csv(split_dir: Path, split: str, fold: int) -> Path:
    folder = split_dir / f"{split}(single-labeled)"
    for name in (f"set_{fold}.csv", f"{split}_set_{fold}.csv"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"DFEW split file {folder / f'set_{fold}.csv'} does not exist")


def _parse_video_id(text: str) -> int | None:
    """``"17"``, ``"00017"``, ``"17.0"`` (a spreadsheet round trip) or ``"00017.mp4"`` -> 17."""
    text = text.strip()
    m = re.fullmatch(r"(\d+)(?:\.0+|\.[A-Za-z0-9]+)?", text)
    return int(m.group(1)) if m else None


def _parse_label(text: str) -> int | None:
    m = re.fullmatch(r"(\d+)(?:\.0+)?", text.strip())
    return int(m.group(1)) if m else None


def _dfew_clip_folders(clip_root: Path) -> dict[int, Path]:
    """Map clip id -> frame folder, looking in ``clip_root`` and its non-numeric subfolders."""
    found: dict[int, Path] = {}
    if not clip_root.is_dir():
        return found
    nested: list[Path] = []
    for p in sorted(clip_root.iterdir()):
        if not p.is_dir():
            continue
        if p.name.isdigit():
            found.setdefault(int(p.name), p)
        else:
            nested.append(p)
    for sub in nested:
        for p in sorted(sub.iterdir()):
            if p.is_dir() and p.name.isdigit():
                found.setdefault(int(p.name), p)
    return found


def _has_frames(folder: Path) -> bool:
    return any(p.suffix.lower() in FRAME_EXTENSIONS for p in folder.iterdir())


def _dfew_csv_rows(csv_path: Path):
    """Yield ``(where, row, i_name, i_label)`` for every non-blank data row of a DFEW split CSV."""
    with open(csv_path, newline="", encoding="utf-8-sig") as f:  # tolerate a BOM
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        if "video_name" not in header or "label" not in header:
            raise ValueError(f"{csv_path}: expected header 'video_name,label', found {header}")
        i_name, i_label = header.index("video_name"), header.index("label")
        for line_no, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line, not an input
            yield f"{csv_path}:{line_no}", row, i_name, i_label


@dataclass
class _DfewScan:
    """What the rows of a DFEW fold's CSVs became so far (clips, rejects, drops)."""

    clip_root: Path
    folders: dict[int, Path]  # clip id -> frame folder found on disk
    clips: list[SourceClip] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    n_found: int = 0
    seen: dict[int, str] = field(default_factory=dict)  # clip id -> the CSV row that listed it first
    referenced: set[int] = field(default_factory=set)  # clip ids named by a row with a known label

    def add_row(self, split: str, where: str, row: list[str], i_name: int, i_label: int) -> None:
        """Classify one CSV row: a clip, a reject (with its reason) or a drop (by label)."""
        self.n_found += 1
        if len(row) <= max(i_name, i_label):
            self.rejected.append((where, f"unparsable CSV row: {row!r}"))
            return
        vid = _parse_video_id(row[i_name])
        label = _parse_label(row[i_label])
        if vid is None:
            self.rejected.append((where, f"unparsable video_name: {row[i_name]!r}"))
            return
        if label not in DFEW_LABELS:
            self.rejected.append((where, f"unknown DFEW label {row[i_label]!r} (expected 1..7)"))
            return
        name = DFEW_LABELS[label]
        self.referenced.add(vid)
        if name not in DFEW_TO_CREMAD:
            self.dropped[name] = self.dropped.get(name, 0) + 1
            return
        clip_id = f"{vid:05d}"
        folder = self.folders.get(vid, self.clip_root / clip_id)
        if vid in self.seen:
            self.rejected.append((str(folder), f"clip {clip_id} listed twice (first in {self.seen[vid]})"))
            return
        self.seen[vid] = where
        if not folder.is_dir():
            self.rejected.append((str(folder), f"missing frame folder for clip {clip_id} ({where})"))
            return
        if not _has_frames(folder):
            self.rejected.append((str(folder), f"empty frame folder: no {'/'.join(FRAME_EXTENSIONS)} frames"))
            return
        self.clips.append(
            SourceClip(
                source=str(folder),
                clip_id=clip_id,
                actor=None,
                emotion=DFEW_TO_CREMAD[name],
                sentence=None,
                level=None,
                split=split,
            )
        )


def list_dfew(root: Path, fold: int = 1) -> Listing:
    """List the single-labelled clips of DFEW fold ``fold`` with their preset train/test split.

    Labels are mapped by name to CREMA-D's codes; surprise is dropped and counted. A row
    whose clip folder is missing or holds no frames, an unreadable row, an unknown label
    and a clip listed twice are rejected with a reason. ``n_found`` counts CSV rows.
    """
    root = Path(root)
    split_dir = root / "EmoLabel_DataSplit"
    clip_root = root / "Clip" / "clip_224x224"
    if not split_dir.is_dir():
        raise FileNotFoundError(f"DFEW folder {split_dir} does not exist")
    if not clip_root.is_dir():
        raise FileNotFoundError(f"DFEW folder {clip_root} does not exist")
    scan = _DfewScan(clip_root, _dfew_clip_folders(clip_root))
    for split in ("train", "test"):
        for where, row, i_name, i_label in _dfew_csv_rows(_dfew_csv(split_dir, split, fold)):
            scan.add_row(split, where, row, i_name, i_label)
    listing = Listing(clips=scan.clips, rejected=scan.rejected, dropped=scan.dropped, n_found=scan.n_found)
    unlisted = len(set(scan.folders) - scan.referenced)
    listing.notes.append(
        f"DFEW {root} fold {fold}: {scan.n_found} CSV rows, {len(scan.clips)} clips, {len(scan.rejected)} rejected, "
        f"dropped {scan.dropped or 'none'}; {unlisted} clip folders on disk are not in this fold's "
        "single-labelled CSVs (ignored)"
    )
    listing.check()
    return listing
