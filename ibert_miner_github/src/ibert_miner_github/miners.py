"""The miners the plugin registers, one per kind of source.

A miner resolves a `Source` of its kind to a `Tree` (cloning, locating a distribution)
and yields the candidates of that tree; the pipeline does the validation and writing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ibert_miner_github.chunks import PARSERS, parse_file
from ibert_miner_github.extractors import Found, file_candidates
from ibert_miner_github.limits import MineLimits
from ibert_miner_github.sources import (
    FileItem,
    Source,
    Tree,
    git_tree,
    package_tree,
    path_tree,
    walk_files,
)


@attrs.frozen
class SourceMiner:
    """Mines one kind of source (`git`, `path`, `package`)."""

    kind: str
    config: Mapping[str, Any] = attrs.field(factory=dict)

    def resolve(self, source: Source, limits: MineLimits) -> Tree:
        if self.kind == "git":
            cache = self.config.get("cache_dir")
            return git_tree(source, limits, Path(cache) / "repos" if cache else None)
        return {"path": path_tree, "package": package_tree}[self.kind](source, limits)

    def candidates(self, tree: Tree, limits: MineLimits) -> Iterator[Found]:
        """Every candidate in the tree, unvalidated (the pipeline validates them)."""
        for item in walk_files(tree, limits, tuple(PARSERS)):
            if isinstance(item, FileItem):
                try:
                    yield from file_candidates(parse_file(item.path, item.text))
                except (SyntaxError, ValueError, RecursionError):
                    continue


def _factory(kind: str) -> Any:
    def build(context: Any) -> SourceMiner:
        return SourceMiner(kind, dict((getattr(context, "config", None) or {}).get("miner", {})))

    build.__name__ = f"{kind}_miner"
    return build


git_miner = _factory("git")
path_miner = _factory("path")
package_miner = _factory("package")
