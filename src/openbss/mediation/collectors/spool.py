"""A spool directory: switches (or an rsync from them) drop CDR files into it, each processed exactly once.

    <dir>/             files dropped here (write elsewhere or as .name / name.part, then rename in)
    <dir>/processing/  a file claimed by a worker (atomic rename: two workers never claim one file)
    <dir>/archive/     processed files; `<name>.rejected.csv` beside one lists its rejected lines
    <dir>/rejected/    files that could not be processed at all, with `<name>.reason`

A claimed file is read whole and decoded from its bytes by a `formats.FileDecoder` (text or binary
formats alike), then its records, its sha256 (table `spool_file`) and the decoder's rejections (in the
quarantine, with the line's text for text formats) are stored in one transaction, so a file is either
entirely stored or not at all, and a file with the same bytes dropped again (any name) is refused into
rejected/. Unanswered calls (skipped) and rejected lines do not fail a file: they are counted, and
rejected lines are written beside the archived file with line and reason.
After a crash, `recover()` (run by `process_pending`) finishes files left in processing/: archived if
their sha256 was committed, processed again otherwise. One worker per directory is assumed for recovery;
claiming itself is safe with several.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from openbss.core.clock import Clock
from openbss.db.uow import UnitOfWork, unit_of_work
from openbss.mediation.collectors.calls import Decoded
from openbss.mediation.collectors.formats import FileDecoder
from openbss.mediation.collectors.tables import spool_file
from openbss.mediation.model import Rejection
from openbss.mediation.quarantine import quarantine_raw
from openbss.mediation.service import ingest_lines, retry_concurrent

log = logging.getLogger("openbss.mediation.spool")

BATCH = 5000


@dataclass(frozen=True)
class FileResult:
    name: str
    outcome: str  # "archived", "duplicate" or "failed"
    accepted: int = 0
    duplicates: int = 0
    rejected: tuple[Rejection, ...] = ()
    skipped: int = 0
    reason: str = ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _free_name(folder: Path, name: str, sha: str) -> Path:
    """`folder/name`, or `name.<sha prefix>` when another file of that name is already there."""
    target = folder / name
    return target if not target.exists() else folder / f"{name}.{sha[:12]}"


class Spool:
    def __init__(self, engine: sa.Engine, directory: Path, decode: FileDecoder, clock: Clock, *, actor: str = "spool"):
        self.engine = engine
        self.directory = Path(directory)
        self.decode = decode
        self.clock = clock
        self.actor = actor
        self.processing, self.archive, self.rejected = (self.directory / d for d in ("processing", "archive", "rejected"))
        for folder in (self.processing, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        """Files waiting in the spool, oldest name first; dot files and .part files are still being written."""
        return sorted(
            p for p in self.directory.iterdir()
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".part")
        )  # fmt: skip

    def claim(self, path: Path) -> Path | None:
        """Move the file into processing/ (atomic on one file system); None when another worker was first."""
        target = self.processing / path.name
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def process_pending(self, stop: threading.Event | None = None) -> list[FileResult]:
        """Recover, then process every waiting file; once `stop` is set, no further file is claimed."""
        results = self.recover()
        for path in self.pending():
            if stop is not None and stop.is_set():
                break
            claimed = self.claim(path)
            if claimed is not None:
                results.append(self.process(claimed))
        return results

    def recover(self) -> list[FileResult]:
        """Finish files a crash left in processing/."""
        results = []
        for path in sorted(self.processing.iterdir()):
            sha = sha256_of(path)
            with self.engine.connect() as conn:
                done = conn.execute(sa.select(spool_file.c.name).where(spool_file.c.sha256 == sha)).first()
            if done is not None and done.name == path.name:
                os.rename(path, _free_name(self.archive, path.name, sha))
                results.append(FileResult(path.name, "archived", reason="committed before a restart"))
            else:  # not stored yet, or a copy of another file (which `process` refuses as a duplicate)
                results.append(self.process(path))
        return results

    def process(self, path: Path) -> FileResult:
        """Store a claimed file in one transaction and move it to archive/ (or rejected/ with a reason)."""
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        try:
            decoded = self.decode(data)
            # Once more if it lost a race with another intake storing some of the same records.
            stored = retry_concurrent(lambda: self._commit(path.name, sha, data, decoded))
        except sa.exc.OperationalError:
            raise  # the database, not the file: left in processing/ for the next round
        except Exception as exc:  # a file that cannot be read or stored at all: set aside with the reason
            log.exception("spool: %s failed", path.name)
            return self._refuse(path, sha, "failed", f"{type(exc).__name__}: {exc}")
        if stored is None:
            return self._refuse(path, sha, "duplicate", f"the same content (sha256 {sha}) was already processed")
        target = _free_name(self.archive, path.name, sha)
        if stored.rejected:
            self._write_rejections(target.with_name(target.name + ".rejected.csv"), stored.rejected)
        os.rename(path, target)
        return stored

    def _commit(self, name: str, sha: str, data: bytes, decoded: Decoded) -> FileResult | None:
        with unit_of_work(self.engine, actor=self.actor, clock=self.clock) as uow:
            return self._store(uow, name, sha, data, decoded)

    def _store(self, uow: UnitOfWork, name: str, sha: str, data: bytes, decoded: Decoded) -> FileResult | None:
        """The file's records, its sha256 and its unreadable lines (quarantined) in the caller's transaction;
        None when that content is known."""
        claimed = uow.conn.execute(
            insert(spool_file)
            .values(sha256=sha, name=name, processed_at=uow.now(), accepted=0, duplicates=0, rejected=0,
                    skipped=len(decoded.skipped))
            .on_conflict_do_nothing()
            .returning(spool_file.c.sha256)
        ).first()
        if claimed is None:
            return None
        origin = f"spool:{name}"
        if decoded.rejected:
            quarantine_raw(uow, self.decode.source, self.decode.raw_lines(data, decoded.rejected), origin=origin)
        accepted = duplicates = 0
        rejected = list(decoded.rejected)
        for start in range(0, len(decoded.records), BATCH):
            result = ingest_lines(uow, decoded.records[start : start + BATCH], origin=origin)
            accepted, duplicates = accepted + result.accepted, duplicates + result.duplicates
            rejected += result.rejected
        rejected.sort(key=lambda r: r.line)
        uow.conn.execute(
            sa.update(spool_file)
            .where(spool_file.c.sha256 == sha)
            .values(accepted=accepted, duplicates=duplicates, rejected=len(rejected))
        )
        return FileResult(name, "archived", accepted, duplicates, tuple(rejected), len(decoded.skipped))

    def _refuse(self, path: Path, sha: str, outcome: str, reason: str) -> FileResult:
        target = _free_name(self.rejected, path.name, sha)
        target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        os.rename(path, target)
        return FileResult(path.name, outcome, reason=reason)

    @staticmethod
    def _write_rejections(path: Path, rejected: list[Rejection]) -> None:
        with open(path, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["line", "field", "value", "reason"])
            out.writerows((r.line, r.field, r.value, r.reason) for r in rejected)

    def watch(
        self, stop: threading.Event, interval: float = 2.0, report: Callable[[list[FileResult]], None] | None = None
    ) -> None:
        """Process the spool every `interval` seconds until `stop` is set (polling: works on any file system).
        A stop lets the file in hand finish; `report` gets each round's results when there are any."""
        while not stop.is_set():
            results = self.process_pending(stop)
            for result in results:
                log.info("spool: %s %s (%d stored, %d rejected)", result.name, result.outcome, result.accepted,
                         len(result.rejected))
            if results and report is not None:
                report(results)
            stop.wait(interval)
