"""Hook implementations of ibert-miner-github; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ibert_core import hookimpl
from ibert_core.registry import MinerSpec


def _lazy(name: str) -> Callable[[Any], Any]:
    def factory(context: Any) -> Any:
        from ibert_miner_github import miners

        return getattr(miners, name)(context)

    factory.__name__ = name
    return factory


@hookimpl
def register_miners(register: Callable[[MinerSpec], None]) -> None:
    register(
        MinerSpec(
            "git",
            "Shallow-clone git repositories (cached) and mine their .py, notebooks and docs.",
            _lazy("git_miner"),
            ("git", "notebook", "docs"),
        )
    )
    register(
        MinerSpec(
            "path",
            "Mine a local directory tree: .py at symbol level, .ipynb cells, md/qmd/rst blocks.",
            _lazy("path_miner"),
            ("path", "notebook", "docs"),
        )
    )
    register(
        MinerSpec(
            "package",
            "Mine an installed distribution: docstring examples, tests and bundled docs.",
            _lazy("package_miner"),
            ("package",),
        )
    )


@hookimpl
def register_commands(cli: Any) -> None:
    from ibert_core.cli import data_commands
    from ibert_miner_github.cli import mine_command

    data_commands(cli).add_command(mine_command)
