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
from ibert_tasks_sql.corpus.normalize import SPLITS

NOTES_QA = "qa skipped: no `qa` task is registered (install ibert-tasks-docs)"
NOTES_QA_LATER = (
    "no qa record yet: a unit's qa records come after its pair records, and this build "
    "stopped inside its first unit; build more records (--n)"
)


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


def validation(counters: Mapping[str, float]) -> dict[str, Any]:
    """Per kind of check (pair, formulation, compile, broken, roundtrip): the checks the
    validator ran, those answered from memory (a repeat of a check already run), those done
    inside another check (`inline`: a dialect compiled by the pair's own check), and the
    validator's own wall and CPU seconds for them (from each verdict's artifacts)."""
    kinds = sorted(
        {k.split("|", 1)[1] for k in counters if k.startswith(("jobs|", "cached|", "inline|"))}
    )
    out: dict[str, Any] = {}
    for kind in kinds:
        ran = int(counters.get(f"jobs|{kind}", 0))
        cpu = float(counters.get(f"job_cpu_seconds|{kind}", 0.0))
        out[kind] = {
            "run": ran,
            "cached": int(counters.get(f"cached|{kind}", 0)),
            "inline": int(counters.get(f"inline|{kind}", 0)),
            "seconds": round(float(counters.get(f"job_seconds|{kind}", 0.0)), 3),
            "cpu_seconds": round(cpu, 3),
            "cpu_ms_per_check": round(1000 * cpu / ran, 2) if ran else None,
        }
    return out


def rejection_rates(counters: Mapping[str, float]) -> dict[str, Any]:
    """Share of candidates rejected, by where they were stopped.

    `seeds`: seed queries and their augmentations (the rest became verified pairs), by the
    step that stopped them (sql_bind, translate, or a validator stage). `tasks`: candidate
    records of each derived task (records made, before dedup, plus those rejected), by reason.
    """
    attempted = sum(int(v) for k, v in counters.items() if k.startswith("attempted|"))
    attempted -= sum(int(v) for k, v in counters.items() if k.startswith("attempted|formulation|"))
    seeds = {
        k.split("|", 1)[1]: {"rejected": int(v), "rate": round(v / attempted, 4)}
        for k, v in sorted(counters.items())
        if k.startswith("rejected|") and attempted
    }
    rejected: dict[str, Counter[str]] = defaultdict(Counter)
    for key, value in counters.items():
        if key.startswith("derived_rejected|"):
            _, task, reason = key.split("|", 2)
            rejected[task][reason] += int(value)
    made = {k.split("|", 1)[1]: int(v) for k, v in counters.items() if k.startswith("records|")}
    formulations = sum(int(v) for k, v in counters.items() if k.startswith("accepted|formulation|"))
    if formulations or "formulation" in rejected:  # verified rewrites, not records
        made["formulation"] = formulations
    tasks: dict[str, Any] = {}
    for task in sorted(set(made) | set(rejected)):
        candidates = made.get(task, 0) + sum(rejected[task].values())
        tasks[task] = {
            "candidates": candidates,
            "rejected": sum(rejected[task].values()),
            "rate": round(sum(rejected[task].values()) / candidates, 4) if candidates else None,
            "by_reason": {
                r: {"rejected": n, "rate": round(n / candidates, 4)}
                for r, n in sorted(rejected[task].items())
            },
        }
    return {"seeds_attempted": attempted, "seeds": seeds, "tasks": tasks}


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
    cpu_phases = {
        k.split("|", 1)[1]: round(float(v), 3) for k, v in counters.items() if k.startswith("cpu|")
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
    if "qa" in tasks and not tallies["task"].get("qa"):
        if not (counters.get("qa_registered") or manifest.get("qa_registered")):
            notes.append(NOTES_QA)
        elif not counters.get("units"):
            notes.append(NOTES_QA_LATER)
        else:
            notes.append("qa registered but no answer was verified")
    notes.extend(_empty_split_notes(tallies["split"], skeletons))
    return {
        "total": total,
        **{f"by_{k}": dict(sorted(v.items())) for k, v in sorted(tallies.items())},
        "skeletons": {s: len(v) for s, v in sorted(skeletons.items())},
        "units": counters.get("units", 0),
        "duplicates_dropped": counters.get("duplicates_dropped", 0)
        + int((manifest.get("partial") or {}).get("duplicates", 0)),
        "duplicates_dropped_by_task": _duplicates_by_task(counters, manifest),
        "acceptance": _acceptance(counters),
        "rejected_by_stage": dict(sorted(rejected.items())),
        "derived_rejected": dict(sorted(derived.items())),
        "seconds": round(seconds, 3),
        "seconds_by_phase": dict(sorted(phases.items())),
        "cpu_seconds_by_phase": dict(sorted(cpu_phases.items())),
        "validation": validation(counters),
        "rejection_rates": rejection_rates(counters),
        "records_per_second": round(total / seconds, 3) if seconds else None,
        "mined": mined_summary(manifest.get("mined") or {}),
        "notes": notes,
    }


def _duplicates_by_task(counters: Mapping[str, int], manifest: Mapping[str, Any]) -> dict[str, int]:
    """Records dropped as repeats of a kept one, per task: qa questions recur across units
    by design (one symbol's questions from every pair calling it), pair tasks only when
    the generator repeats itself, so one total hid which was which."""
    out: Counter[str] = Counter(
        {k.split("|", 1)[1]: v for k, v in counters.items() if k.startswith("duplicates_dropped|")}
    )
    out.update((manifest.get("partial") or {}).get("duplicates_by_task") or {})
    return dict(sorted(out.items()))


def _empty_split_notes(by_split: Mapping[str, int], skeletons: Mapping[str, set[str]]) -> list[str]:
    """A split with no records, said out loud: splits go by query skeleton (each skeleton's
    hash picks one), so a small build with few skeletons can leave val or test empty."""
    if not sum(by_split.values()):
        return []
    count = len(set().union(*skeletons.values())) if skeletons else 0
    return [
        f"the {name} split is empty: this build has {count} query skeleton(s) and none "
        f"hashed to {name} (about {share} % of skeletons do); build more records (--n) "
        "for a non-empty one"
        for name, share in SPLITS
        if not by_split.get(name)
    ]
