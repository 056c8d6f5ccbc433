"""The editing tasks: `code_completion` and `error_resolution`.

`specs` (cheap, no ibis) registers them; `handlers` connects each engine to the core and the
DuckDB validator. Completion: `cursor` (where the cursor is), `building`/`restricted`
(evaluate over unbound tables behind an AST allow-list), `members` (ibis's API),
`usage` (ranking counts), `snippets` (multi-token calls), `completion` (the engine).
Error resolution: `static_rules` (semgrep, `rules/*.yaml`), `fix_rules` (error-driven),
`edits` (span edits, diffs), `resolution` (the run → fix → re-run loop).
"""
