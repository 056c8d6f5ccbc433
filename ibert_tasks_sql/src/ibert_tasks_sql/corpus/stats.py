"""`stats.json`: what a corpus holds (per split, task, source, template, difficulty, feature)
and how it was made (acceptance by source and template, rejections by stage, throughput).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ibert_core.corpus import read_examples
from ibert_tasks_sql.corpus.mined import summary as mined_summary

NOTES_QA = "qa skipped: no `qa` task is registered (install ibert-tasks-docs)"


def _acceptance(counters: Mapping[str, int]) -> dict[str, Any]:
    attempted: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for key, value in counters.items():
        head, _, rest = key.partition("|")
        if head == "attempted":
            attempted[rest] += value
        elif head == "accepted":
            accepted[rest] += value
    by_kind = {
        k: {
            "attempted": attempted[k],
            "accepted": accepted[k],
            "rate": round(accepted[k] / attempted[k], 4) if attempted[k] else None,
        }
        for k in sorted(attempted)
    }
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for k in by_kind:
        source = k.split("|")[0]
        by_source[source]["attempted"] += attempted[k]
        by_source[source]["accepted"] += accepted[k]
    return {
        "by_source": {
            s: {**c, "rate": round(c["accepted"] / c["attempted"], 4) if c["attempted"] else None}
            for s, c in sorted(by_source.items())
        },
        "by_origin": by_kind,
    }


def corpus_stats(
    out: Path, manifest: Mapping[str, Any], config: Any, notes: list[str] | None = None
) -> dict[str, Any]:
    total = 0
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for always in ("anti_pattern", "feature", "feature_ast", "dialect"):
        tallies[always] = Counter()
    skeletons: dict[str, set[str]] = defaultdict(set)
    for file in sorted(out.glob("*.jsonl")):
        for ex in read_examples(file):
            total += 1
            meta = ex.meta
            split = str(meta.get("split") or file.stem)
            tallies["split"][split] += 1
            tallies["task"][ex.task] += 1
            tallies["source"][str(meta.get("source"))] += 1
            tallies["origin"][str(meta.get("origin"))] += 1
            tallies["difficulty"][str(meta.get("difficulty"))] += 1
            tallies["domain"][str(meta.get("domain"))] += 1
            if ex.task == "ibis_to_sql":
                tallies["dialect"][str(ex.dialect)] += 1
            semgrep = meta.get("semgrep")
            for f in meta.get("features") or ():
                tallies["feature_ast"][str(f)] += 1
            for f in (semgrep or {}).get("features", meta.get("features") or ()):
                tallies["feature"][str(f)] += 1
            for f in (semgrep or {}).get("anti_patterns", meta.get("anti_patterns") or ()):
                tallies["anti_pattern"][str(f)] += 1
            tallies[f"task_in_{split}"][ex.task] += 1
            if meta.get("skeleton"):  # mined records without SQL have none
                skeletons[split].add(str(meta["skeleton"]))
    counters: Mapping[str, int] = manifest.get("counters", {})
    rejected = {k.split("|", 1)[1]: v for k, v in counters.items() if k.startswith("rejected|")}
    derived = {
        k.split("|", 1)[1]: v for k, v in counters.items() if k.startswith("derived_rejected|")
    }
    phases = {
        k.split("|", 1)[1]: round(float(v), 3)
        for k, v in counters.items()
        if k.startswith("seconds|")
    }
    seconds = float(manifest.get("seconds", 0.0))
    notes = list(
        notes
        or [
            "by_feature / by_anti_pattern: semgrep rules (rules/ibis_tags.yaml); "
            "by_feature_ast: read off the Ibis AST"
        ]
    )
    tasks = getattr(config, "tasks", ())
    if "qa" in tasks and not any(k == "records|qa" for k in counters):
        notes.append(
            NOTES_QA
            if not counters.get("qa_registered")
            else "qa registered but no answer was verified"
        )
    return {
        "total": total,
        **{f"by_{k}": dict(sorted(v.items())) for k, v in sorted(tallies.items())},
        "skeletons": {s: len(v) for s, v in sorted(skeletons.items())},
        "units": counters.get("units", 0),
        "duplicates_dropped": counters.get("duplicates_dropped", 0)
        + int((manifest.get("partial") or {}).get("duplicates", 0)),
        "acceptance": _acceptance(counters),
        "rejected_by_stage": dict(sorted(rejected.items())),
        "derived_rejected": dict(sorted(derived.items())),
        "seconds": round(seconds, 3),
        "seconds_by_phase": dict(sorted(phases.items())),
        "records_per_second": round(total / seconds, 3) if seconds else None,
        "mined": mined_summary(manifest.get("mined") or {}),
        "notes": notes,
    }
