"""Known-equal and known-different (SQL, Ibis) pairs through the real sandboxed validator."""

from __future__ import annotations

import pytest

from ibert_core.types import STAGES, ValidationJob

EQUAL = [
    (  # array_agg without ORDER BY: any element order is the same result
        "SELECT city, array_agg(age) AS ages FROM users GROUP BY city",
        "expr = users.group_by('city').agg("
        "ages=users.age.collect(order_by=ibis.desc(users.age), include_null=True))",
    ),
    (  # datetime values as literals (ibis's own examples build them so)
        "SELECT id, ts FROM orders WHERE ts >= TIMESTAMP '2024-01-01' - INTERVAL 3 DAY",
        "from datetime import datetime, timedelta\n"
        "expr = orders.filter(orders.ts >= datetime(2024, 1, 1) - timedelta(days=3))"
        ".select('id', 'ts')",
    ),
    (
        "SELECT name, age FROM users WHERE age > 3",
        "expr = users.filter(users.age > 3)[['name', 'age']]",
    ),
    (
        "SELECT city, count(*) AS n, sum(age) AS total FROM users GROUP BY city",
        "expr = users.group_by('city').aggregate(cnt=_.count(), s=_.age.sum())",
    ),
    (
        "SELECT u.name, o.amount FROM users u JOIN orders o ON u.id = o.user_id",
        "expr = users.join(orders, users.id == orders.user_id).select('name', 'amount')",
    ),
    (
        "SELECT * FROM users WHERE id IN (SELECT user_id FROM orders)",
        "expr = users.filter(users.id.isin(orders.user_id))",
    ),
    (
        "SELECT * FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
        "expr = users.anti_join(orders, users.id == orders.user_id)",
    ),
    (  # ORDER BY with ties: tied rows may come in any order
        "SELECT name, age FROM users ORDER BY age",
        "expr = users.select('name', 'age').order_by('age')",
    ),
    (  # LIMIT cutting a tie group
        "SELECT name, age FROM users ORDER BY age DESC LIMIT 4",
        "expr = users.select('name', 'age').order_by(ibis.desc('age')).limit(4)",
    ),
    (
        "SELECT avg(price * qty) FROM items",
        "expr = (items.price * items.qty).mean()",
    ),
    (
        "SELECT count(city) FROM users",
        "expr = users.city.count()",
    ),
    (
        "SELECT name, row_number() OVER (PARTITION BY city ORDER BY id) AS rn FROM users",
        "w = ibis.window(group_by='city', order_by='id')\n"
        "expr = users.select('name', rn=ibis.row_number().over(w) + 1)",
    ),
    (
        "SELECT o.id, sum(i.qty) FROM orders o "
        "LEFT JOIN items i ON i.order_id = o.id GROUP BY o.id",
        "j = orders.left_join(items, orders.id == items.order_id)\n"
        "expr = j.group_by(j.id).aggregate(q=j.qty.sum())",
    ),
    (
        "SELECT name FROM users WHERE name LIKE '%a%'",
        "expr = users.filter(users.name.like('%a%')).select('name')",
    ),
]

DIFFERENT = [
    (
        "SELECT name, age FROM users WHERE age > 3",
        "expr = users.filter(users.age >= 3)[['name', 'age']]",
    ),
    ("SELECT count(*) FROM users", "expr = users.city.count()"),
    ("SELECT city FROM users", "expr = users.select('city').distinct()"),
    (
        "SELECT name, age FROM users ORDER BY age DESC",
        "expr = users.select('name', 'age').order_by('age')",
    ),
    (  # NOT IN with NULLs in the subquery returns nothing; an anti join does not
        "SELECT * FROM users WHERE id NOT IN (SELECT user_id FROM orders)",
        "expr = users.anti_join(orders, users.id == orders.user_id)",
    ),
    (
        "SELECT * FROM users WHERE NOT (city = 'Beta')",
        "expr = users.filter((users.city != 'Beta') | users.city.isnull())",
    ),
    (
        "SELECT u.name, o.amount FROM users u LEFT JOIN orders o ON u.id = o.user_id",
        "expr = users.join(orders, users.id == orders.user_id).select('name', 'amount')",
    ),
    ("SELECT id, name FROM users", "expr = users.select('id', 'name', 'age')"),
    (
        "SELECT id FROM users ORDER BY id LIMIT 5",
        "expr = users.select('id').order_by('id').limit(6)",
    ),
    ("SELECT sum(price) FROM items", "expr = items.price.sum() * 1.001"),
    (
        "SELECT name FROM users WHERE name LIKE 'a%'",
        "expr = users.filter(users.name.ilike('a%')).select('name')",
    ),
    (  # array_agg with ORDER BY: the order is part of the result
        "SELECT city, array_agg(age ORDER BY age) AS ages FROM users GROUP BY city",
        "expr = users.group_by('city').agg("
        "ages=users.age.collect(order_by=ibis.desc(users.age), include_null=True))",
    ),
    (  # and the elements still count: collect() drops the NULLs array_agg keeps
        "SELECT city, array_agg(age) AS ages FROM users GROUP BY city",
        "expr = users.group_by('city').agg(ages=users.age.collect())",
    ),
]


#: Near misses on a constant's boundary that the literal rows of seed 0 alone must catch:
#: the row holding the constant has to stand out from the fixture rows it copies.
BOUNDARY = [
    (  # its string would duplicate a city already in the result
        "SELECT DISTINCT city FROM users WHERE age > 30",
        "expr = users.filter(users.age >= 30).select('city').distinct()",
    ),
    (  # its foreign key would point at a user other orders already match
        "SELECT * FROM users WHERE id IN (SELECT user_id FROM orders WHERE amount > 0)",
        "expr = users.filter(users.id.isin(orders.filter(orders.amount >= 0).user_id))",
    ),
    (
        "SELECT * FROM users u WHERE NOT EXISTS "
        "(SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.amount > 0)",
        "expr = users.anti_join(orders.filter(orders.amount >= 0), users.id == orders.user_id)",
    ),
    (
        "SELECT count(DISTINCT city) FROM users WHERE age >= 30",
        "expr = users.filter(users.age >= 30).city.count()",
    ),
]


#: Near misses whose difference needs a particular shape of data, which the literal rows
#: build from the query's constants on whichever seed comes first.
SHAPED = [
    (  # a group of exactly 3 rows: `> 3` against `>= 3`
        "SELECT city, count(*) AS n FROM users GROUP BY city HAVING count(*) > 3",
        "t = users.group_by('city').aggregate(n=_.count())\nexpr = t.filter(t.n >= 3)",
    ),
    (  # a group of exactly 4 rows: the threshold off by one
        "SELECT city, count(*) AS n FROM users GROUP BY city HAVING count(*) > 3",
        "t = users.group_by('city').aggregate(n=_.count())\nexpr = t.filter(t.n > 4)",
    ),
    (  # the same, counted per parent (a foreign key)
        "SELECT user_id FROM orders GROUP BY user_id HAVING count(*) >= 2",
        "t = orders.group_by('user_id').aggregate(n=_.count())\n"
        "expr = t.filter(t.n > 2).select('user_id')",
    ),
    (  # a boundary row whose other column is NULL
        "SELECT status, amount FROM orders WHERE amount <= 0 AND status IS NOT NULL",
        "expr = orders.filter(orders.amount <= 0).select('status', 'amount')",
    ),
    (  # a group whose sum is the threshold
        "SELECT user_id, sum(amount) AS total FROM orders GROUP BY user_id "
        "HAVING sum(amount) > 100",
        "t = orders.group_by('user_id').aggregate(total=_.amount.sum())\n"
        "expr = t.filter(t.total >= 100)",
    ),
    (  # a group whose average is the threshold
        "SELECT user_id FROM orders GROUP BY user_id HAVING avg(amount) >= 70",
        "t = orders.group_by('user_id').aggregate(m=_.amount.mean())\n"
        "expr = t.filter(t.m > 70).select('user_id')",
    ),
    (  # a string as long as the threshold
        "SELECT name FROM users WHERE length(name) > 5",
        "expr = users.filter(users.name.length() >= 5).select('name')",
    ),
    (  # a time within the hour on the upper end of a BETWEEN
        "SELECT id FROM orders WHERE hour(ts) BETWEEN 6 AND 11",
        "expr = orders.filter((orders.ts.hour() >= 6) & (orders.ts.hour() < 11)).select('id')",
    ),
    (  # the last month of the quarter before
        "SELECT id FROM orders WHERE quarter(ts) = 4",
        "expr = orders.filter(orders.ts.month() >= 9).select('id')",
    ),
    (  # a timestamp later on the day a date compares with
        "SELECT id FROM orders WHERE CAST(ts AS DATE) <= DATE '2024-03-31'",
        "expr = orders.filter(orders.ts <= ibis.timestamp('2024-03-31 00:00:00')).select('id')",
    ),
    (  # a group holding two of the constants' neighbours: max and min differ
        "SELECT u.city, max(o.amount) AS m FROM users u JOIN orders o ON u.id = o.user_id "
        "WHERE o.amount >= 42 GROUP BY u.city",
        "j = users.join(orders, users.id == orders.user_id).filter(_.amount >= 42)\n"
        "expr = j.group_by('city').aggregate(m=_.amount.min())",
    ),
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("index", range(len(BOUNDARY) + len(SHAPED)))
def test_near_misses_are_caught_by_one_seed_whichever_it_is(validator, shop, index, seed):
    sql, code = (BOUNDARY + SHAPED)[index]
    (verdict,) = validator.validate_many([_job(shop, sql, code, seeds=[seed])])
    assert not verdict.passed and verdict.failed.name == "compare", verdict.feedback


def _job(schema, sql, code, **options):
    return ValidationJob(code=code, schema=schema, reference_sql=sql, options=options)


@pytest.fixture(scope="module")
def equal_verdicts(validator, shop):
    return validator.validate_many([_job(shop, sql, code) for sql, code in EQUAL])


@pytest.fixture(scope="module")
def different_verdicts(validator, shop):
    return validator.validate_many([_job(shop, sql, code) for sql, code in DIFFERENT])


@pytest.mark.parametrize("index", range(len(EQUAL)))
def test_equal_pairs_pass(equal_verdicts, index):
    verdict = equal_verdicts[index]
    assert verdict.passed, (EQUAL[index], verdict.feedback)
    assert [s.name for s in verdict.stages] == list(STAGES)


@pytest.mark.parametrize("index", range(len(DIFFERENT)))
def test_different_pairs_fail_at_compare(different_verdicts, index):
    verdict = different_verdicts[index]
    assert not verdict.passed, DIFFERENT[index]
    assert verdict.failed.name == "compare", verdict.feedback
    assert "results differ" in verdict.failed.message or "column count" in verdict.failed.message


def test_mismatch_message_is_useful(different_verdicts):
    assert "expected" in different_verdicts[0].failed.message
    assert "column count differs" in different_verdicts[7].failed.message
    assert "order" in different_verdicts[3].failed.message


def test_stage_prefix_and_artifacts(validator, shop):
    job = ValidationJob(
        code="expr = users.filter(users.age > 1).count()",
        schema=shop,
        stages=("parse", "build", "compile"),
        options={"compile_dialect": "postgres"},
    )
    verdict = validator.validate(job)
    assert verdict.passed and verdict.required == ("parse", "build", "compile")
    assert [s.name for s in verdict.stages] == ["parse", "build", "compile"]
    assert "SELECT" in verdict.artifacts["sql"] and '"users"' in verdict.artifacts["sql"]
    assert "SELECT" in verdict.artifacts["dialect_sql"]


def test_the_checked_sql_is_what_ibis_to_sql_writes(validator, shop):
    """Corpus records and `ibis_to_sql` answers show this SQL: it must be ibis's own."""
    import ibis

    users = ibis.table(shop.table("users").as_dict(), name="users")
    orders = ibis.table(shop.table("orders").as_dict(), name="orders")
    codes = {
        "expr = users.filter(users.age > 1).select('name')": users.filter(users.age > 1).select(
            "name"
        ),
        "expr = users.join(orders, users.id == orders.user_id).group_by('city')"
        ".agg(n=_.count()).order_by(ibis.desc('n'))": users.join(
            orders, users.id == orders.user_id
        )
        .group_by("city")
        .agg(n=ibis._.count())
        .order_by(ibis.desc("n")),
    }
    verdicts = validator.validate_many(
        [ValidationJob(code=c, schema=shop, stages=("parse", "build", "compile")) for c in codes]
    )
    for verdict, expr in zip(verdicts, codes.values(), strict=True):
        assert verdict.artifacts["sql"] == ibis.to_sql(expr, dialect="duckdb")


def test_compile_dialects_report_each_dialect_without_failing(validator, shop):
    job = ValidationJob(
        code="expr = users.filter(users.age > 1).select('name')",
        schema=shop,
        reference_sql="SELECT name FROM users WHERE age > 1",
        options={"compile_dialects": ("duckdb", "postgres", "snowflake", "no_such_dialect")},
    )
    verdict = validator.validate(job)
    assert verdict.passed, verdict.feedback
    sqls, errors = verdict.artifacts["dialect_sqls"], verdict.artifacts["dialect_errors"]
    assert sqls["duckdb"] == verdict.artifacts["sql"]
    assert set(sqls) == {"duckdb", "postgres", "snowflake"}
    assert all('"users"' in sqls[d] or "users" in sqls[d].lower() for d in sqls)
    assert set(errors) == {"no_such_dialect"} and "no_such_dialect" in errors["no_such_dialect"]


def test_a_dialect_that_drops_a_construct_is_an_error_not_a_warning(validator, shop, capfd):
    job = ValidationJob(
        code="expr = users.select('id').difference(users.select('id'), distinct=False)",
        schema=shop,
        stages=("parse", "build", "compile"),
        options={"compile_dialects": ("postgres", "bigquery")},
    )
    verdict = validator.validate(job)
    assert verdict.passed, verdict.feedback
    assert set(verdict.artifacts["dialect_sqls"]) == {"postgres"}
    assert "not supported" in verdict.artifacts["dialect_errors"]["bigquery"]
    assert "not supported" not in capfd.readouterr().err  # not printed by the worker


def test_execute_without_reference(validator, shop):
    job = ValidationJob(code="expr = users.select('id')", schema=shop, stages=STAGES[:4])
    verdict = validator.validate(job)
    assert verdict.passed
    assert verdict.artifacts["columns"] == ["id"] and len(verdict.artifacts["row_counts"]) == 3


@pytest.mark.parametrize(
    ("code", "stage", "needle"),
    [
        (
            "expr = users.filter(users.agee > 3)",
            "build",
            "column 'agee' not found on table users; did you mean 'age'?",
        ),
        ("expr = usres.select('id')", "build", "did you mean 'users'?"),
        ("expr = users.select('nme')", "build", "did you mean 'name'?"),
        ("expr = users.age.summ()", "build", "did you mean 'sum'?"),
        ("expr = users.filter(_.agee > 3)", "build", "did you mean 'age'?"),
        ("x = users", "build", "assign the final ibis expression to `expr`"),
        ("expr = 3", "build", "not an ibis expression"),
        ("expr = users.filter(", "parse", "syntax error at line 1"),
    ],
)
def test_feedback_messages(validator, shop, code, stage, needle):
    verdict = validator.validate(ValidationJob(code=code, schema=shop, stages=STAGES[:4]))
    assert verdict.failed is not None and verdict.failed.name == stage
    assert needle in verdict.failed.message, verdict.failed.message


def test_last_expression_becomes_expr(validator, shop):
    verdict = validator.validate(
        ValidationJob(code="users.count()", schema=shop, reference_sql="SELECT count(*) FROM users")
    )
    assert verdict.passed, verdict.feedback


def test_dialect_reference_is_transpiled(validator, shop):
    job = ValidationJob(
        code="expr = users.order_by('id').limit(3).select('id')",
        schema=shop,
        reference_sql="SELECT TOP 3 id FROM users ORDER BY id",
        dialect="tsql",
    )
    assert validator.validate(job).passed


def test_float_tolerance_option(validator, shop):
    code = "expr = items.price.sum() * 1.00001"
    sql = "SELECT sum(price) FROM items"
    assert not validator.validate(_job(shop, sql, code)).passed
    assert validator.validate(_job(shop, sql, code, float_tolerance=1e-4)).passed


def test_bad_reference_is_reported(validator, shop):
    verdict = validator.validate(_job(shop, "DELETE FROM users", "expr = users"))
    assert verdict.failed.name == "compare" and "reference_error" in verdict.artifacts
