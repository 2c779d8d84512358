"""Read corpora for the detect commands (calibrate, score) through the audit's reader and engines.

The commands' per-batch work (features for calibrate, scores for score) runs as a map on the audit's
engines (`--workers` processes, or Ray), keyed by where each batch starts in its file, and is put back in
input order here; `-q` hides the progress bar as for `audit`.
"""

from __future__ import annotations

import functools
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from synthscope.analyzer import DOC_ID, FILE, ROW, SOURCE, AnalyzerResult, FinalizeContext
from synthscope.detect.analyzer import score_batch
from synthscope.detect.scoring import scorer_of
from synthscope.detect.skeleton import skeleton_tokens
from synthscope.detect.skeleton_model import GramMatrix
from synthscope.detect.topics import topic_vectors
from synthscope.detect.calibrate import CV_REFERENCE_SIZE, CrossValidation, LabelledFeatures, fit_profile
from synthscope.detect.features import frequency_language
from synthscope.detect.profile import DEFAULT_LANGUAGES, CalibrationProfile
from synthscope.engines import single_threaded_blas
from synthscope.io.parts import plan_parts
from synthscope.language import LANGUAGE, UNDETERMINED
from synthscope.detect.scorer import sigmoid
from synthscope.errors import InputError, UsageError
from synthscope.io.writable import atomic_target, check_output_file
from synthscope.pipeline import AuditConfig, ProgressSink, job_of, plan_inputs, start_run
from synthscope.text import N_TOKENS

BatchKey = tuple[str, int]  # (file label, first row of the batch)


@dataclass(frozen=True)
class BatchCollector:
    """An analyzer that keeps `fn(batch)` of every prepared batch, keyed by where the batch starts in its
    file, so that any engine can map it (`fn` must be picklable for the pool and Ray)."""

    fn: Callable[[pl.DataFrame], Any]
    name: str = "collect"

    def empty(self) -> tuple[tuple[BatchKey, Any], ...]:
        return ()

    def map(self, batch: pl.DataFrame) -> tuple[tuple[BatchKey, Any], ...]:
        if batch.height == 0:
            return ()
        file, row = batch.select(pl.col(FILE).first(), pl.col(ROW).first()).row(0)
        return (((str(file), int(row)), self.fn(batch)),)

    def merge(self, a: tuple[tuple[BatchKey, Any], ...], b: tuple[tuple[BatchKey, Any], ...]) -> tuple[tuple[BatchKey, Any], ...]:
        return a + b

    def finalize(self, state: Any, ctx: FinalizeContext) -> AnalyzerResult:
        return AnalyzerResult({})

    def options(self) -> dict[str, Any]:
        return {}


def map_corpus(paths: list[str], config: AuditConfig, fn: Callable[[pl.DataFrame], Any], progress: ProgressSink | None = None,
               spill_dir: Path | None = None) -> list[Any]:
    """`fn` of every prepared batch of the corpus at `paths` (read exactly as `audit` reads it), mapped on
    the engine `config` asks for (`--workers`, `--engine`), in input order. `spill_dir`: a folder `fn`
    writes to (checked by distributed workers)."""
    inputs, _, plan = plan_inputs(paths, config)
    config = plan.resolved(config)
    parts = plan_parts(inputs, config.batch_size)
    engine, accounting, progress = start_run(config, inputs, len(parts), progress)
    try:
        with single_threaded_blas():
            state = engine.run(job_of([BatchCollector(fn)], plan, config, spill_dir), parts, accounting.add).states[0]
        accounting.finish(inputs, config)
    finally:
        if progress is not None:
            progress.finish()
        engine.close()
    order = {f.label: i for i, f in enumerate(inputs)}
    return [result for _, result in sorted(state, key=lambda item: (order[item[0][0]], item[0][1]))]


def _batch_features(language: str | None, skeleton: bool, batch: pl.DataFrame) -> tuple[Any, ...]:
    from synthscope.detect.features import compute_features

    return (compute_features(batch, language), batch[N_TOKENS].to_numpy().astype(np.float64), batch[SOURCE].to_numpy().astype(str),
            GramMatrix.of(skeleton_tokens(batch)) if skeleton else None, topic_vectors(batch))


def labelled_features(paths: list[str], label: int, config: AuditConfig, language: str | None = "en", skeleton: bool = True,
                      progress: ProgressSink | None = None) -> LabelledFeatures:
    """Features of every document at `paths` (style features with word frequencies from `language`'s
    wordfreq table, skeleton n-gram rates unless `skeleton` is False, topic vectors), with the given
    label and their source as group."""
    batches = map_corpus(paths, config, functools.partial(_batch_features, language, skeleton), progress)
    if not batches:
        raise InputError(f"no documents to calibrate on in {', '.join(paths)}")
    parts, words, groups, grams, topics = (list(column) for column in zip(*batches))
    n = sum(len(w) for w in words)
    return LabelledFeatures(pl.concat(parts), np.concatenate(words), np.full(n, label), np.concatenate(groups),
                            GramMatrix.stack(grams) if skeleton else None, np.concatenate(topics))


def _stacked(a: LabelledFeatures, b: LabelledFeatures) -> LabelledFeatures:
    """Two labelled tables as one (skeleton rates under the union of their n-grams)."""
    grams = None if a.grams is None or b.grams is None else GramMatrix.stack([a.grams, b.grams])
    topics = None if a.topics is None or b.topics is None else np.concatenate([a.topics, b.topics])
    return LabelledFeatures(pl.concat([a.features, b.features]), np.concatenate([a.n_words, b.n_words]),
                            np.concatenate([a.label, b.label]), np.concatenate([a.group, b.group]), grams, topics)


MIN_LANGUAGE_SHARE = 0.1


def _language_counts(batch: pl.DataFrame) -> dict[str, int]:
    return {code: int(n) for code, n in batch[LANGUAGE].value_counts().iter_rows()}


def calibration_languages(paths: list[str], config: AuditConfig, progress: ProgressSink | None = None) -> list[str]:
    """The languages of labelled text: `--language` when given, else every language identified for at
    least MIN_LANGUAGE_SHARE of the documents (undetermined ones aside), most frequent first; English
    when nothing could be identified."""
    if config.languages:
        return [c for c in config.languages if c != UNDETERMINED] or list(DEFAULT_LANGUAGES)
    counts: dict[str, int] = {}
    for batch_counts in map_corpus(paths, config, _language_counts, progress):
        for code, n in batch_counts.items():
            counts[code] = counts.get(code, 0) + n
    total = sum(counts.values())
    found = sorted((c for c, n in counts.items() if c != UNDETERMINED and n >= MIN_LANGUAGE_SHARE * total), key=lambda c: (-counts[c], c))
    return found or list(DEFAULT_LANGUAGES)


def calibrate_paths(human: list[str], synthetic: list[str], config: AuditConfig, l2: float = 10.0,
                    skeleton: bool = True, progress: Callable[[str], ProgressSink] | None = None) -> tuple[CalibrationProfile, CrossValidation]:
    """Fit a profile from labelled human and synthetic corpora (sources become calibration groups; with
    `skeleton`, English text gets the skeleton n-gram model too). `progress(label)`: a progress sink for
    each reading pass."""
    if not human or not synthetic:
        raise UsageError("calibrate needs both --human and --synthetic paths")
    def sink(label: str) -> ProgressSink | None:
        return progress(label) if progress is not None else None

    languages = calibration_languages([*human, *synthetic], config, None if config.languages else sink("languages"))
    language = frequency_language(languages)
    skeleton = skeleton and languages == ["en"]
    h = labelled_features(human, 0, config, language, skeleton, sink("human"))
    s = labelled_features(synthetic, 1, config, language, skeleton, sink("synthetic"))
    if min(len(h.label), len(s.label)) < MIN_DOCUMENTS_PER_CLASS:
        raise InputError(
            f"calibration needs at least {MIN_DOCUMENTS_PER_CLASS} human and {MIN_DOCUMENTS_PER_CLASS} synthetic documents "
            f"(got {len(h.label):,} human, {len(s.label):,} synthetic)"
        )
    profile, cv = fit_profile(_stacked(h, s), l2=l2, metadata={"human_paths": list(human), "synthetic_paths": list(synthetic)}, languages=languages)
    problem = separation_problem(profile, cv)
    if problem:
        raise InputError(f"this calibration cannot tell human from synthetic text: {problem}; no profile written")
    return profile, cv


MIN_DOCUMENTS_PER_CLASS = 20
MIN_HELD_OUT_AUC = 0.6


def held_out_auc(profile: CalibrationProfile) -> float:
    """Probability that a synthetic calibration document scores above a human one (ties count half),
    from the profile's out-of-fold score histograms."""
    human = np.asarray(profile.human_hist, dtype=np.float64)
    synth = np.asarray(profile.synthetic_hist, dtype=np.float64)
    below = np.concatenate(([0.0], np.cumsum(human)[:-1]))
    return float((synth * (below + 0.5 * human)).sum() / (synth.sum() * human.sum()))


def separation_problem(profile: CalibrationProfile, cv: CrossValidation) -> str | None:
    """Why a fitted profile is unusable (scores that do not separate the classes, or held-out
    estimates no better than always answering 0.5), or None when it is usable."""
    auc = held_out_auc(profile)
    if auc < MIN_HELD_OUT_AUC:
        return f"held-out AUC {auc:.2f}, below {MIN_HELD_OUT_AUC} (0.5 is chance; are the human and synthetic sets really different?)"
    constant = float(np.mean([abs(0.5 - r["truth"]) for r in cv.rows])) if cv.rows else float("nan")
    if not cv.mae() < constant:
        return f"cross-validated error {cv.mae():.3f} is no better than always answering 0.5 ({constant:.3f})"
    return None


def score_paths(paths: list[str], config: AuditConfig, profile: CalibrationProfile, output: str | Path, explain: bool = False,
                progress: ProgressSink | None = None) -> int:
    """Write per-document id, source, score and features to a Parquet file, in input order; with
    `explain`, also each document's `spans`: what the span features matched (detect.spans). Batches are
    scored on the engine's workers, each into a file of the run's work folder, then copied in order."""
    scorer = scorer_of(profile, frequency_language(profile.languages))
    output = Path(output)
    check_output_file(output, "the scores")
    with tempfile.TemporaryDirectory(prefix="synthscope-", dir=config.workdir) as work:
        files = map_corpus(paths, config, functools.partial(_score_to_file, scorer, explain, Path(work)), progress, Path(work))
        if not files:
            raise InputError("no documents to score")
        with atomic_target(output) as partial:
            return _concatenate(files, partial)


def score_frame(batch: pl.DataFrame, scorer: Any, explain: bool = False) -> pl.DataFrame:
    """One prepared batch's score rows: id, source, language, score, skeleton_logit (profiles with a
    skeleton model), every feature and, with `explain`, spans."""
    from synthscope.detect.spans import document_spans

    scores = score_batch(batch, scorer)
    extra = {} if scores.skeleton_logits is None else {"skeleton_logit": scores.skeleton_logits}
    spans = [document_spans(batch, scorer.style.features).to_frame("spans")] if explain else []
    return pl.concat(
        [batch.select(pl.col(DOC_ID).alias("id"), pl.col(SOURCE).alias("source"), pl.col(LANGUAGE).alias("language")),
         pl.DataFrame({"score": sigmoid(scores.logits), **extra}), scores.features, *spans], how="horizontal"
    )


def _score_to_file(scorer: Any, explain: bool, folder: Path, batch: pl.DataFrame) -> str:
    path = folder / f"scores-{uuid.uuid4().hex}.parquet"
    score_frame(batch, scorer, explain).write_parquet(path)
    return str(path)


def _concatenate(files: list[str], path: Path) -> int:
    """The batches' score files as one Parquet file, in the given order."""
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for file in files:
            table = pq.read_table(file)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
            Path(file).unlink()
    finally:
        if writer is not None:
            writer.close()
    return rows


def held_out_lines(profile: CalibrationProfile, cv: CrossValidation) -> list[str]:
    """What `synthscope calibrate` prints about a fitted profile's held-out quantification error."""
    groups = profile.training.get("groups", [])
    out = []
    cv = cv.at_size() if CV_REFERENCE_SIZE in cv.sizes() else cv  # the 200-document sources (bands of every size below)
    for kind, what in (("group", "held-out groups" if len(groups) > 1 else "held-out folds"), ("half", "held-out halves of every group")):
        rows = [r for r in cv.rows if r.get("kind", "group") == kind]
        if not rows:
            continue
        human = [r["estimate"] for r in rows if r["truth"] == 0]
        worst = f", purely human sources read up to {max(human):.3f} (mean {np.mean(human):.3f})" if human else ""
        out.append(f"held-out synthetic-fraction error on {what} (fractions 0-1): mean absolute error {cv.mae(kind):.3f}{worst}")
    for band in profile.cv_errors_by_similarity:
        lo, hi = np.interp([0.05, 0.95], np.linspace(0, 1, len(band["errors"])), band["errors"])
        size = f"sources of {band['documents']} documents" if "documents" in band else "sources"
        out.append(f"  {size} with topic similarity >= {band['similarity']:.3f} to their nearest group: 90% of held-out errors in [{lo:+.3f}, {hi:+.3f}]")
    out.append(f"held-out error on pure human / pure synthetic: {profile.shift_sd['human']:.3f} / {profile.shift_sd['synthetic']:.3f}; "
               f"decision threshold {profile.threshold:.3f}; skeleton n-grams {'yes' if profile.skeleton else 'no'}; "
               f"topic matching {'yes' if profile.topic_centroids else 'no'}")
    return out
