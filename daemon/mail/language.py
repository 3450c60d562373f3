"""language: which language a customer wrote in, or None when we cannot tell.

Decides with py3langid (offline, model bundled) restricted to the languages a support desk
plausibly sees, so a short English line is not called Luxembourgish. Text with fewer than
`MIN_LETTERS` letters (or `MIN_IDEOGRAPHS` CJK characters) and guesses under `MIN_CONFIDENCE`
give None: a wrong language is worse than none for routing and reply templates. Only the first
`SAMPLE_CHARS` characters are read: py3langid walks its automaton in Python, byte by byte, and
the first 500 characters of what a customer wrote name its language as well as all of it (on
the 903 mails of ../shared/corpus, 500 and 1,000 give the same answer every time; 400 do not).

The model restricted to those languages is kept prepared in the cache directory
(`CacheDirectory=` under systemd, else ~/.cache/helpdeskd): the next process reads its tables
straight into memory instead of decompressing py3langid's file and cutting it down again
(0.1 s instead of 0.6 s, and no 50 MB transient on top of what it keeps — every parse worker
starts this way). Missing, damaged or unwritable, it only costs the slow load.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import sys
from array import array
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "pl",
    "cs",
    "sk",
    "hu",
    "ro",
    "ru",
    "uk",
    "bg",
    "el",
    "tr",
    "ar",
    "he",
    "fa",
    "hi",
    "ja",
    "zh",
    "ko",
    "vi",
    "th",
    "id",
    "ms",
    "hr",
    "sl",
    "et",
    "lv",
    "lt",
    "ca",
]
MIN_LETTERS = 12
MIN_IDEOGRAPHS = 4
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 500
log = logging.getLogger("helpdeskd.parse")
IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None."""
    sample = text[:SAMPLE_CHARS]
    if not has_letters(sample) and len(IDEOGRAPH.findall(sample)) < MIN_IDEOGRAPHS:
        return None
    code, confidence = identifier().classify(sample)
    return str(code) if confidence >= MIN_CONFIDENCE else None


def has_letters(sample: str) -> bool:
    """At least `MIN_LETTERS` letters; stops counting there (most text gets there at once)."""
    count = 0
    for ch in sample:
        if ch.isalpha():
            count += 1
            if count >= MIN_LETTERS:
                return True
    return False


@cache
def identifier() -> Any:
    """The model, loaded once per process: from the prepared copy in the cache directory
    (~0.1 s), else from py3langid's compressed file (~0.6 s, and ~50 MB more at its peak
    than it keeps), preparing the copy for the next process."""
    return load_identifier(cache_dir())


def load_identifier(cache: Path | None) -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    folder = None if cache is None else cache / f"langid-{model_key(MODEL_DIR / MODEL_FILE)}"
    parts = read_prepared(folder) if folder is not None else None
    if parts is not None:
        model = LanguageIdentifier(
            parts.ptc,
            parts.pc,
            parts.classes,
            parts.nextmove,
            parts.output,
            norm_probs=True,
            tk_row=parts.row,
        )
    else:
        model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        model.set_languages(LANGUAGES)
        # set_languages keeps a column view of the full table (Fortran order): each feature's
        # scores are then 38 scattered reads; one contiguous row per feature makes classify
        # ~15% faster (7.6 MB, once per process)
        model.nb_ptc = model.nb_ptc.copy(order="C")
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)  # damaged or half written: made again
            write_prepared(
                folder,
                Prepared(
                    model.nb_ptc,
                    model.nb_pc,
                    list(model.nb_classes),
                    model.tk_nextmove,
                    model.tk_row,
                    model.tk_output,
                ),
            )
    # the full table, kept for another set_languages(): we never call it again
    model._full_model = None
    return model


@dataclass(frozen=True, slots=True)
class Prepared:
    """The restricted model's tables, as `LanguageIdentifier` takes them."""

    ptc: Any  # numpy float16 (features x languages), C order
    pc: Any  # numpy float32 (languages)
    classes: list[str]
    nextmove: array[int]
    row: array[int]
    output: list[int]


PREPARED_FORMAT = 1


def cache_dir() -> Path | None:
    """Where the prepared model is kept: systemd's `CacheDirectory=` ($CACHE_DIRECTORY),
    else $XDG_CACHE_HOME or ~/.cache, in `helpdeskd/`; None without a home."""
    if os.environ.get("CACHE_DIRECTORY"):
        return Path(os.environ["CACHE_DIRECTORY"].split(":")[0])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "helpdeskd"
    try:
        return Path.home() / ".cache" / "helpdeskd"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def model_key(model_file: Path) -> str:
    """Names the prepared copy after everything it was made from."""
    try:
        stat = model_file.stat()
        version = importlib.metadata.version("py3langid")
    except (OSError, importlib.metadata.PackageNotFoundError):
        return "unknown"
    made_from = [PREPARED_FORMAT, version, stat.st_size, stat.st_mtime_ns, LANGUAGES, sys.byteorder]
    return hashlib.sha256(json.dumps(made_from).encode()).hexdigest()[:16]


def read_prepared(folder: Path) -> Prepared | None:
    """The prepared tables, or None when they are missing, short or unreadable."""
    import numpy as np

    try:
        meta = json.loads((folder / "meta.json").read_text())
        classes = [str(c) for c in meta["classes"]]
        ptc = np.fromfile(folder / "ptc", dtype=np.float16)
        pc = np.fromfile(folder / "pc", dtype=np.float32)
        if ptc.size != meta["features"] * len(classes) or pc.size != len(classes):
            return None
        return Prepared(
            ptc.reshape(meta["features"], len(classes)),
            pc,
            classes,
            read_array(folder / "nextmove", *meta["nextmove"]),
            read_array(folder / "row", *meta["row"]),
            read_array(folder / "output", *meta["output"]).tolist(),
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None


def read_array(path: Path, typecode: str, count: int) -> array[int]:
    """`count` items read straight into the array's memory (`array.fromfile` would read
    them into a bytes object first: a second 40 MB while loading)."""
    items: array[int] = array(typecode, [0]) * count
    with path.open("rb") as f:
        if f.readinto(memoryview(items).cast("B")) != count * items.itemsize or f.read(1):
            raise ValueError(f"{path}: not {count} items")
    return items


def write_prepared(folder: Path, parts: Prepared) -> None:
    """Write the tables for the next process (best effort: a cache that cannot be written
    only costs the next process the slow load). Written aside and renamed into place, so a
    concurrent reader sees all of it or nothing; copies made for other versions are removed."""
    scratch = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    output = array("i", parts.output)
    meta = {
        "classes": parts.classes,
        "features": int(parts.ptc.shape[0]),
        "nextmove": [parts.nextmove.typecode, len(parts.nextmove)],
        "row": [parts.row.typecode, len(parts.row)],
        "output": [output.typecode, len(output)],
    }
    try:
        scratch.mkdir(parents=True)
        parts.ptc.astype("float16", order="C").tofile(scratch / "ptc")
        parts.pc.astype("float32").tofile(scratch / "pc")
        for name, items in (("nextmove", parts.nextmove), ("row", parts.row), ("output", output)):
            with (scratch / name).open("wb") as f:
                items.tofile(f)
        (scratch / "meta.json").write_text(json.dumps(meta))
        scratch.rename(folder)
    except OSError as exc:
        log.debug("language model not cached in %s: %s", folder, exc)
        shutil.rmtree(scratch, ignore_errors=True)
        return
    for old in folder.parent.glob("langid-*"):
        if old != folder and not old.name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)
