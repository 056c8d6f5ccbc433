"""What cannot be translated is refused with the construct and its position, never guessed."""

from __future__ import annotations

import pytest

from ibert_core.errors import BadInput, UnknownNameError, UnsupportedConstruct
from ibert_core.types import Schema
from ibert_tasks_sql.translation.translate import translate

UNSUPPORTED = [
    # (sql, construct named in the error, line, column)
    ("SELECT name,\n  my_udf(score) AS s\nFROM customers", "function MY_UDF()", 2, 3),
    ("SELECT 1", "SELECT without FROM", 1, 8),
    (
        "WITH RECURSIVE r AS (SELECT 1 AS n FROM customers) SELECT n FROM r",
        "WITH RECURSIVE",
        None,
        None,
    ),
    ("SELECT name FROM customers\nWHERE name LIKE 'a!%' ESCAPE '!'", "LIKE ... ESCAPE", 2, 7),
    (
        "SELECT SUBSTRING(name, customer_id) AS s FROM customers",
        "SUBSTRING with a computed start",
        1,
        None,
    ),
    (
        "SELECT country, name, COUNT(*) AS n FROM customers GROUP BY ROLLUP (country), CUBE (name)",
        "several of ROLLUP, CUBE, GROUPING SETS",
        None,
        None,
    ),
    ("SELECT name FROM customers LIMIT customer_id", "LIMIT with a computed count", None, None),
    (
        "SELECT DISTINCT ON (country) country, name FROM customers",
        "DISTINCT ON",
        None,
        None,
    ),
    ("SELECT order_id // 2 AS h FROM orders", "integer division (//)", 1, 8),
    ("SELECT SUM(1) AS n FROM orders", "SUM of a constant", 1, 8),
    (
        "SELECT country, COUNT(*) AS n FROM customers GROUP BY country QUALIFY n > 1",
        "QUALIFY in an aggregated SELECT",
        None,
        None,
    ),
]


@pytest.mark.parametrize(("sql", "construct", "line", "col"), UNSUPPORTED)
def test_unsupported_constructs_are_named_with_their_position(
    shop_schema, sql, construct, line, col
):
    with pytest.raises(UnsupportedConstruct) as info:
        translate(sql, shop_schema, "duckdb")
    err = info.value
    assert construct in str(err)
    if line is not None:
        assert err.line == line
        assert col is None or err.col == col
    assert "--model" in str(err)  # the message says what to do next


def test_integer_division_of_a_truncating_dialect_is_refused(shop_schema):
    with pytest.raises(UnsupportedConstruct, match="integer division"):
        translate("SELECT order_id / 2 AS h FROM orders", shop_schema, "postgres")
    # a float operand divides exactly in every dialect
    code = translate("SELECT amount / 2 AS h FROM orders", shop_schema, "postgres").code
    assert "_.amount / 2" in code


def test_a_schema_is_required(shop_schema):
    with pytest.raises(BadInput, match="--schema"):
        translate("SELECT 1 FROM t", None)
    with pytest.raises(BadInput, match="--schema"):
        translate("SELECT 1 FROM t", Schema())


def test_unknown_table_suggests_the_closest(shop_schema):
    with pytest.raises(UnknownNameError) as info:
        translate("SELECT *\nFROM customer", shop_schema)
    assert "did you mean 'customers'" in str(info.value)
    assert "line 2" in str(info.value)


def test_unknown_column_is_bad_input(shop_schema):
    with pytest.raises(BadInput, match="agee"):
        translate("SELECT agee FROM customers", shop_schema)


def test_unknown_dialect_suggests_the_closest(shop_schema):
    with pytest.raises(UnknownNameError, match="postgres"):
        translate("SELECT name FROM customers", shop_schema, "postgress")


def test_syntax_errors_point_at_the_position(shop_schema):
    with pytest.raises(BadInput, match="line 1, column"):
        translate("SELECT name FROM WHERE", shop_schema)


def test_only_queries_translate(shop_schema):
    with pytest.raises(UnsupportedConstruct, match="INSERT statement"):
        translate("INSERT INTO customers VALUES (1)", shop_schema)
    with pytest.raises(BadInput, match="2 statements"):
        translate("SELECT name FROM customers; SELECT name FROM products", shop_schema)
