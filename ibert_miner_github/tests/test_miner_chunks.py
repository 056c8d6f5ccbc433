"""Parsers: Python at symbol level, notebook cells without outputs, fenced doc blocks."""

from __future__ import annotations

from ibert_miner_github.chunks import iter_doctests, parse_file, parse_python, parse_rst


def test_python_symbols_with_their_spans_and_context(sample_files):
    analysis = sample_files["analysis"]
    chunks = {c.name: c for c in parse_python("src/analysis.py", analysis)}
    lines = analysis.splitlines()
    fn = chunks["revenue_by_region"]
    assert fn.kind == "function"
    assert lines[fn.start - 1].startswith("def revenue_by_region")
    assert lines[fn.end - 1].strip() == "return expr"
    assert fn.docstring == "Revenue per region for orders over 10."
    top = chunks["top_customers"]
    assert top.context == ("import ibis",)  # only the imports it uses
    assert chunks["Report"].kind == "class"
    method = chunks["Report.rows"]
    assert method.kind == "method" and lines[method.start - 1].strip() == "def rows(self):"
    module = chunks["<module>"]
    assert module.kind == "module" and "os.makedirs" in module.code
    assert module.context == ("import os",)


def test_module_docstring_with_examples_is_a_chunk():
    source = '"""Helpers.\n\n>>> import ibis\n>>> ibis.literal(1) + 1\n"""\nx = 1\n'
    kinds = [c.kind for c in parse_python("m.py", source)]
    assert "module_doc" in kinds


def test_notebook_cells_ignore_outputs_and_read_sql_magics(sample_files):
    chunks = parse_file("demo.ipynb", sample_files["notebook"])
    assert [c.language for c in chunks] == ["python", "sql", "python"]
    assert all("OUTPUT" not in c.code for c in chunks)
    setup, sql, ibis_cell = chunks
    assert setup.prose == "# Counting by kind"
    assert sql.code.strip() == "SELECT b, COUNT(*) AS n FROM t GROUP BY b"
    assert (ibis_cell.cell, ibis_cell.start, ibis_cell.end) == (3, 1, 1)


def test_quarto_blocks_with_prose_and_lines(sample_files):
    guide = sample_files["guide"]
    chunks = parse_file("docs/guide.qmd", guide)
    assert [c.language for c in chunks] == ["python", "sql", "python"]
    lines = guide.splitlines()
    sql = chunks[1]
    assert lines[sql.start - 1].startswith("SELECT kind")
    assert sql.prose == "In SQL, counting events per kind is:"
    assert chunks[2].code.startswith("expr = events.group_by")


def test_rst_code_blocks():
    text = (
        "Title\n=====\n\nSome prose.\n\n.. code-block:: python\n\n"
        "   t = ibis.table({'a': 'int'}, name='t')\n   expr = t.a.sum()\n\nAfter.\n"
    )
    (block,) = parse_rst("x.rst", text)
    assert block.code == "t = ibis.table({'a': 'int'}, name='t')\nexpr = t.a.sum()"
    assert block.prose.endswith("Some prose.")
    assert text.splitlines()[block.start - 1].strip().startswith("t = ibis.table")


def test_doctest_examples_join_continuations():
    doc = "Sum.\n\n>>> t = ibis.memtable(\n...     {'a': [1, 2]}\n... )\n>>> t.a.sum()\n3\n"
    examples = list(iter_doctests(doc))
    assert examples[0][1].strip().startswith("t = ibis.memtable(")
    assert examples[1] == (5, "t.a.sum()\n")
