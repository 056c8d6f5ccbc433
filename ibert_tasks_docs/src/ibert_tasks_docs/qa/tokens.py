"""Turning symbols and questions into BM25 terms.

Users ask in SQL and pandas words ("where", "average", "melt") about an API spelled in
Ibis words (`filter`, `mean`, `pivot_longer`), and they write identifiers as phrases
("group by", "read parquet"). So identifiers are split *and* kept whole, adjacent query
words are also tried joined (`group_by`), and a small thesaurus maps the other vocabularies
onto Ibis's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")

STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "so",
    "that", "the", "their", "them", "then", "there", "these", "this", "to", "use", "used",
    "using", "via", "want", "was", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "you", "your", "ibis", "get", "make", "should",
})

#: Words from SQL, pandas and plain English, and the Ibis terms they stand for.
THESAURUS: dict[str, tuple[str, ...]] = {
    "where": ("filter",),
    "avg": ("mean",),
    "average": ("mean",),
    "having": ("having", "filter"),
    "sort": ("order_by",),
    "sorted": ("order_by",),
    "order": ("order_by",),
    "rolling": ("trailing_window", "rows_window"),
    "moving": ("trailing_window", "rows_window"),
    "running": ("cumulative", "cumsum"),
    "cumulative": ("cumsum", "cumulative_window"),
    "null": ("null", "isnull", "fill_null", "coalesce"),
    "nulls": ("null", "isnull", "fill_null", "drop_null"),
    "missing": ("null", "fill_null", "drop_null", "isnull"),
    "nan": ("isnan", "null"),
    "na": ("null", "fill_null", "drop_null"),
    "conditional": ("cases", "ifelse"),
    "case": ("cases", "case"),
    "ifelse": ("ifelse",),
    "dedupe": ("distinct",),
    "deduplicate": ("distinct",),
    "duplicates": ("distinct",),
    "duplicate": ("distinct",),
    "unique": ("distinct", "nunique"),
    "melt": ("pivot_longer",),
    "unpivot": ("pivot_longer",),
    "long": ("pivot_longer",),
    "wide": ("pivot_wider",),
    "wider": ("pivot_wider",),
    "spread": ("pivot_wider",),
    "explode": ("unnest",),
    "flatten": ("unnest", "flatten"),
    "stack": ("union",),
    "append": ("union", "insert"),
    "substring": ("substr",),
    "regex": ("re_search", "re_extract", "re_replace"),
    "regexp": ("re_search", "re_extract", "re_replace"),
    "percentile": ("quantile",),
    "median": ("median", "quantile"),
    "previous": ("lag",),
    "prior": ("lag",),
    "next": ("lead",),
    "run": ("execute",),
    "sql": ("to_sql", "sql"),
    "lowercase": ("lower",),
    "uppercase": ("upper",),
    "trim": ("strip",),
    "concatenate": ("concat", "union"),
    "merge": ("join",),
    "lookup": ("join",),
    "rename": ("rename",),
    "convert": ("cast",),
    "datatype": ("cast", "type"),
    "bin": ("bucket", "histogram"),
    "bins": ("bucket", "histogram"),
    "histogram": ("histogram", "bucket"),
    "round": ("round",),
    "frequency": ("value_counts",),
    "frequencies": ("value_counts",),
    "rank": ("rank", "row_number", "dense_rank"),
    "numbering": ("row_number",),
    "connection": ("connect",),
    "database": ("connect",),
    "udf": ("udf", "scalar"),
    "cartesian": ("cross_join",),
    "occur": ("value_counts",),
    "occurrence": ("value_counts",),
    "distinct": ("distinct", "nunique"),
    "partition": ("group_by", "window", "over"),
    "partitioned": ("group_by", "window", "over"),
    "intersection": ("intersect",),
    "udfs": ("udf", "scalar"),
    # pandas names (a question may spell the method it knows from pandas)
    "groupby": ("group_by",),
    "agg": ("aggregate",),
    "drop_duplicates": ("distinct",),
    "fillna": ("fill_null",),
    "dropna": ("drop_null",),
    "isna": ("isnull",),
    "notna": ("notnull",),
    "astype": ("cast",),
    "to_datetime": ("as_timestamp", "cast",),
    "to_numeric": ("cast",),
    "shift": ("lag", "lead",),
    "nlargest": ("topk", "order_by", "limit",),
    "nsmallest": ("order_by", "limit",),
    "sort_values": ("order_by",),
    "pivot_table": ("pivot_wider",),
    "unstack": ("pivot_wider",),
    "qcut": ("ntile", "quantile",),
    "cut": ("bucket", "cases",),
    "idxmax": ("argmax",),
    "idxmin": ("argmin",),
    "cumcount": ("row_number",),
    "diff": ("lag",),
    "pct_change": ("lag",),
    "dtypes": ("schema",),
    "transform": ("over", "window",),
    "len": ("length",),
    "stddev": ("std",),
    "variance": ("var",),
    # SQL keywords and functions
    "except": ("difference",),
    "ifnull": ("coalesce", "fill_null",),
    "nvl": ("coalesce", "fill_null",),
    "isnull": ("isnull",),
    "date_trunc": ("truncate",),
    "trunc": ("truncate",),
    "datediff": ("delta",),
    "date_diff": ("delta",),
    "dateadd": ("add", "interval",),
    "date_add": ("add", "interval",),
    "strpos": ("find",),
    "instr": ("find",),
    "charindex": ("find",),
    "char_length": ("length",),
    "ltrim": ("lstrip",),
    "rtrim": ("rstrip",),
    "string_agg": ("group_concat",),
    "listagg": ("group_concat",),
    "array_agg": ("collect",),
    "first_value": ("first",),
    "last_value": ("last",),
    "nth_value": ("nth",),
    "approx_count_distinct": ("approx_nunique",),
    "percentile_cont": ("quantile",),
    "percentile_disc": ("quantile",),
    "current_timestamp": ("now",),
    "current_date": ("today",),
    "getdate": ("now",),
    "from_unixtime": ("as_timestamp",),
    "to_timestamp": ("as_timestamp",),
    "date_format": ("strftime",),
    "to_char": ("strftime",),
    "strptime": ("as_timestamp", "as_date",),
    "to_date": ("as_date",),
    "str_to_date": ("as_date",),
    "offset": ("limit",),
    "regexp_replace": ("re_replace",),
    "regexp_extract": ("re_extract",),
    "regexp_like": ("re_search",),
    "split_part": ("split",),
    # plain English for operations ibis names otherwise
    "combine": ("union", "join",),
    "exclude": ("drop", "anti_join", "notin",),
    "excluding": ("drop", "anti_join", "notin",),
    "subtract": ("sub", "difference", "delta",),
    "minus": ("sub", "difference",),
    "elapsed": ("delta",),
    "duration": ("delta", "interval",),
    "ago": ("interval", "now",),
    "yesterday": ("today", "interval",),
    "tomorrow": ("today", "interval",),
    "ascending": ("asc",),
    "nested": ("struct", "unnest",),
    "statistics": ("describe",),
    "stats": ("describe",),
    "summarize": ("aggregate", "describe",),
    "summarise": ("aggregate", "describe",),
    "summary": ("describe", "aggregate",),
    "collapse": ("aggregate",),
    "bucketize": ("bucket",),
    "power": ("pow",),
    "modulo": ("mod",),
    "remainder": ("mod",),
    "absolute": ("abs",),
    "logarithm": ("log", "ln",),
    "exponent": ("exp", "pow",),
    "suffix": ("endswith",),
    "url": ("host", "path", "protocol",),
    "tally": ("count", "value_counts",),
    "newest": ("max", "order_by",),
    "oldest": ("min", "order_by",),
    "earliest": ("min",),
    "categorize": ("cases", "bucket",),
    "categorise": ("cases", "bucket",),
    "classify": ("cases",),
    "proportion": ("sum", "over",),
    "ratio": ("sum", "over",),
    "increment": ("add",),
    "timedelta": ("interval",),
    "quarter": ("quarter",),
    "deduplicated": ("distinct",),
    "biggest": ("max",),
    "highest": ("max",),
    "smallest": ("min",),
    "lowest": ("min",),
}

_SUFFIXES = ("ing", "es", "ed", "s")


def stem(word: str) -> str:
    """A light suffix stripper: enough to meet `columns`/`column`, `joins`/`join`."""
    if "_" in word or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def words(text: str) -> list[str]:
    """Lower-cased words and identifier parts; `group_by` gives `group_by`, `group`, `by`."""
    out: list[str] = []
    for match in _WORD.finditer(text):
        token = match.group(0)
        parts = [p for chunk in token.split("_") for p in _CAMEL.findall(chunk)]
        whole = token.lower()
        if len(parts) > 1:
            out.append(whole)
        out.extend(p.lower() for p in parts)
    return out


def terms(text: str) -> list[str]:
    """Document terms: words minus stopwords, stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def query_terms(question: str) -> list[str]:
    """Question terms: its words, adjacent pairs joined as identifiers (`group by` →
    `group_by`, and `is null` → `isnull`: ibis also spells names run together, `isin`,
    `ifelse`, `notnull`), and thesaurus terms."""
    raw = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", question)]
    out = terms(question)  # the user's own words outweigh what the thesaurus adds
    for a, b in itertools.pairwise(raw):
        out += [f"{a}_{b}", f"{a}{b}"]
    for w in raw:
        out.extend(_expand(w))
    return out


def _expand(word: str) -> Iterable[str]:
    for key in (word, stem(word)):
        if key in THESAURUS:
            return [stem(t) for t in THESAURUS[key]]
    return []
