"""Calibration as data: each model's two refusal thresholds, fitted on dev and read at start-up.

The answer is refused when the model's doubt that any evidence sentence
answers (:mod:`rag.abstain`) or its doubt that the cited sentences state
the answer (:mod:`rag.confirm`) is above a threshold. Where a model's
scores sit depends on the model, so the thresholds are fitted for each:
``ragbot eval --fit-abstention --save`` chooses them on the dev split
(the most coverage at precision 0.90, :func:`rag.selective.choose_thresholds`)
and writes them to ``<storage>/calibration.json`` under the model's
identity (for a GGUF file of the user's, its name and a fingerprint of its
header: :func:`rag.gguf.model_identity`). Where the thresholds come from,
first found wins:

1. the settings ``RAGBOT_ABSTAIN_THRESHOLD`` / ``RAGBOT_CONFIRM_THRESHOLD``;
2. the storage folder's ``calibration.json``, fitted by the user;
3. ``rag/calibration_defaults.json``, shipped with ragbot (the built-in model);
4. none: 0.0 for both, the model's own first choice ("0", "no"), and a
   warning at start-up that the model is uncalibrated.

An entry fitted for another file of the same name (another fingerprint) is
stale: it is ignored, and said so.

>>> calibration_for("embedded:qwen2.5-coder-1.5b", Path("/nonexistent")).source
'built-in (fitted on dev, 2026-12-07)'
>>> calibration_for("gguf:mine.gguf@0123456789ab", Path("/nonexistent")).calibrated
False
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULTS = Path(__file__).with_name("calibration_defaults.json")
FILE_NAME = "calibration.json"
UNCALIBRATED = 0.0  # the model's own choice: abstain when "0" is its first pick, refuse when "no" is


@dataclass(frozen=True)
class Calibration:
    """The thresholds in use, and where they came from (for ``doctor`` and the start-up warning)."""

    doubt: float
    confirm: float
    source: str
    calibrated: bool = True
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        """e.g. "doubt -0.501, confirm -1.597: built-in (fitted on dev, 2026-12-07)"."""
        return f"doubt {self.doubt}, confirm {self.confirm}: {self.source}"


def _read(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stale(identity: str, entries: dict[str, dict]) -> tuple[str, ...]:
    """Entries for another file of the same name: a model replaced under its old name."""
    if "@" not in identity:
        return ()
    name = identity.split("@", 1)[0] + "@"
    return tuple(
        f"calibration.json holds thresholds for {other}, another file named like this model; ignored"
        for other in entries
        if other.startswith(name) and other != identity
    )


def calibration_for(
    identity: str, storage_dir: Path, doubt: float | None = None, confirm: float | None = None
) -> Calibration:
    """The thresholds for the model called ``identity`` (``doubt`` and ``confirm``: the settings' overrides)."""
    fitted = _read(storage_dir / FILE_NAME)
    notes = _stale(identity, fitted)
    if identity in fitted:
        entry, source = fitted[identity], f"fitted on dev, {fitted[identity].get('fitted', '?')} ({storage_dir / FILE_NAME})"
    elif identity in (shipped := _read(DEFAULTS)):
        entry, source = shipped[identity], f"built-in (fitted on dev, {shipped[identity].get('fitted', '?')})"
    else:
        entry, source = {}, "uncalibrated: run `ragbot eval --fit-abstention --save` to fit it"
    calibrated = bool(entry)
    found = Calibration(
        float(entry.get("doubt", UNCALIBRATED)), float(entry.get("confirm", UNCALIBRATED)), source, calibrated, notes
    )
    if doubt is None and confirm is None:
        return found
    return Calibration(
        found.doubt if doubt is None else doubt,
        found.confirm if confirm is None else confirm,
        "settings (RAGBOT_ABSTAIN_THRESHOLD / RAGBOT_CONFIRM_THRESHOLD)" + ("" if calibrated else "; otherwise uncalibrated"),
        True,
        notes,
    )


def save_calibration(storage_dir: Path, identity: str, doubt: float, confirm: float, figures: dict) -> Path:
    """Write ``identity``'s thresholds (and the dev figures they were chosen with) beside the others'."""
    path = storage_dir / FILE_NAME
    entries = _read(path)
    entries[identity] = {
        "doubt": doubt,
        "confirm": confirm,
        "fitted": datetime.date.today().isoformat(),
        **figures,
    }
    storage_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)  # readers see the old file or the new one, never half
    return path
