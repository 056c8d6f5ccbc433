"""Hook implementations of ibert-adapters; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ibert_core import hookimpl
from ibert_core.registry import AdapterSpec, EmbedderSpec

if TYPE_CHECKING:
    import click


def _hf_factory(context: Any, model_id: str, adapter: str | None) -> Any:
    from ibert_adapters.backend import factory

    return factory(context, model_id, adapter)


@hookimpl
def register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            name="hf",
            summary="Hugging Face causal LM (local folder or hub id), hot-swapped LoRA adapters",
            factory=_hf_factory,
        )
    )


def _embedder_factory(context: Any) -> Any:
    from ibert_adapters.embeddings import factory

    return factory(context)


@hookimpl
def register_embedders(register: Callable[[EmbedderSpec], None]) -> None:
    register(
        EmbedderSpec(
            name="hf-encoder",
            summary="Local Hugging Face encoder (all-MiniLM-L6-v2 with [embeddings] or "
            "IBERT_EMBEDDING_MODEL), mean-pooled and normalized",
            factory=_embedder_factory,
        )
    )


@hookimpl
def resolve_model(model_id: str, adapter: str | None) -> str | None:
    from ibert_adapters.loading import can_serve

    return "hf" if can_serve(model_id) else None


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ibert_adapters.cli import adapters_group, eval_command, train_command

    cli.add_command(train_command)
    cli.add_command(eval_command)
    cli.add_command(adapters_group)
