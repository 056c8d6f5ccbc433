"""A pytest plugin for people writing iBERT plugins (loaded automatically as `pytest11`).

- `plugin_manager`: a fresh manager with the hook specs and built-ins, no entry points,
  so a test sees exactly the plugins it registers.
- `register_plugin(pm, plugin)`: a context manager that registers a plugin for a block.
- `ibert_cli`: run `ibert ARGS` through the console entry point, as a user does, and get
  (exit code, stdout, stderr); `assert_usage_error` checks what a user's mistake must give.
- `TaskConformance` / `ValidatorConformance`: test bases every task or validator can
  subclass, as ibis tests every backend with one suite.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest

from ibert_core import engine
from ibert_core.plugins import IbertPluginManager, get_plugin_manager, make_context
from ibert_core.registry import TaskSpec, ValidatorSpec
from ibert_core.types import STAGES, Candidate, TaskRequest, ValidationJob, Verdict


@pytest.fixture
def plugin_manager() -> IbertPluginManager:
    """A plugin manager with no entry points loaded: register what the test needs."""
    return get_plugin_manager(load_entrypoints=False)


@contextmanager
def register_plugin(
    pm: IbertPluginManager, plugin: object, name: str | None = None
) -> Iterator[IbertPluginManager]:
    """Register `plugin` on `pm` for the block; registries are rebuilt on both sides."""
    pm.register(plugin, name=name)
    pm.reset_registries()
    try:
        pm.check_pending()
        yield pm
    finally:
        pm.unregister(plugin)
        pm.reset_registries()


@pytest.fixture(scope="session")
def installed_plugin_manager() -> IbertPluginManager:
    """Every installed plugin, loaded once per test session."""
    return get_plugin_manager()


#: The caller's settings a CLI test keeps: where indexes are cached (a conftest may point it
#: at a temporary folder). Every other IBERT_* variable (plugin selection, strict loading,
#: models) would make the test depend on who runs it.
KEPT_SETTINGS = frozenset({"IBERT_CACHE_DIR"})


@pytest.fixture
def ibert_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """`ibert_cli(*args)` -> (exit code, stdout, stderr): `ibert ARGS` through `main`, with
    every installed plugin and none of the caller's IBERT_* settings but `KEPT_SETTINGS`."""
    from ibert_core import cli

    for key in [k for k in os.environ if k.startswith("IBERT_") and k not in KEPT_SETTINGS]:
        monkeypatch.delenv(key)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as stop:
            cli.main(list(args))
        out = capsys.readouterr()
        return int(stop.value.code or 0), out.out, out.err

    return run


def assert_usage_error(
    result: tuple[int, str, str], start: str = "", *, contains: str = ""
) -> None:
    """A user's mistake as the CLI must report it: exit 2, nothing on stdout, and one line
    on stderr that starts `ibert: error: {start}` and holds `contains`."""
    code, out, err = result
    assert (code, out) == (2, ""), result
    assert err.startswith(f"ibert: error: {start}") and contains in err, err
    assert len(err.strip().splitlines()) == 1, err


class TaskConformance:
    """What every task must do. Subclass with `task_name`, `good_requests` (inputs the
    task's own engine must answer verified) and `bad_candidate` (text its checks must
    reject for the first good request).
    """

    task_name: ClassVar[str]
    good_requests: ClassVar[Sequence[TaskRequest]] = ()
    bad_candidate: ClassVar[str] = "expr = this is not valid code"

    @pytest.fixture(scope="class")
    @classmethod
    def task_context(cls, installed_plugin_manager: IbertPluginManager) -> Iterator[Any]:
        context = make_context(installed_plugin_manager)
        yield context
        context.close()

    def test_task_is_registered_with_summary(self, installed_plugin_manager: Any) -> None:
        spec = installed_plugin_manager.registries.tasks.get(self.task_name)
        assert isinstance(spec, TaskSpec)
        assert spec.summary and spec.distribution

    def test_handler_has_the_engine_interface(self, task_context: Any) -> None:
        handler = task_context.handler(self.task_name)
        assert isinstance(handler.name, str) and handler.name
        assert callable(handler.candidates) and callable(handler.validate)

    def test_good_requests_are_verified(self, task_context: Any) -> None:
        assert self.good_requests, "give at least one request the task answers verified"
        for request in self.good_requests:
            result = engine.run(task_context, request)
            assert result.verified, (request.text, result.verdict and result.verdict.feedback)
            assert result.answer
            assert result.provenance is not None and result.provenance.engine

    def test_bad_candidate_is_rejected(self, task_context: Any) -> None:
        request = self.good_requests[0]
        handler = task_context.handler(self.task_name)
        verdict = handler.validate(request, Candidate(self.bad_candidate))
        assert not verdict.passed
        assert verdict.feedback


class ValidatorConformance:
    """What every validator must do. Subclass with `validator_name`, `equal_jobs`
    (candidates equivalent to their reference) and `different_jobs` (not equivalent).
    """

    validator_name: ClassVar[str]
    equal_jobs: ClassVar[Sequence[ValidationJob]] = ()
    different_jobs: ClassVar[Sequence[ValidationJob]] = ()

    @pytest.fixture(scope="class")
    @classmethod
    def validator(cls, installed_plugin_manager: IbertPluginManager) -> Iterator[Any]:
        context = make_context(installed_plugin_manager)
        yield context.validator(cls.validator_name)
        context.close()

    def test_validator_is_registered(self, installed_plugin_manager: Any) -> None:
        spec = installed_plugin_manager.registries.validators.get(self.validator_name)
        assert isinstance(spec, ValidatorSpec) and spec.summary

    def test_equal_pairs_pass(self, validator: Any) -> None:
        assert self.equal_jobs
        for job in self.equal_jobs:
            verdict = validator.validate(job)
            assert verdict.passed, (job.code, verdict.feedback)

    def test_different_pairs_fail_with_feedback(self, validator: Any) -> None:
        assert self.different_jobs
        for job in self.different_jobs:
            verdict = validator.validate(job)
            assert not verdict.passed, job.code
            assert verdict.failed is not None and verdict.failed.message

    def test_stages_run_in_order(self, validator: Any) -> None:
        for job in [*self.equal_jobs, *self.different_jobs]:
            names = [s.name for s in validator.validate(job).stages]
            assert names == list(STAGES[: len(names)])

    def test_validate_many_agrees_with_validate(self, validator: Any) -> None:
        jobs = [*self.equal_jobs, *self.different_jobs]
        many: list[Verdict] = validator.validate_many(jobs)
        assert [v.passed for v in many] == [validator.validate(j).passed for j in jobs]
