"""Finding, loading and guarding plugins.

Unlike loading everything at import time, `get_plugin_manager()` loads each entry point
inside its own guard: a plugin that fails to import or to register is recorded (which
distribution, which entry point, what error), reported once on stderr, and the rest
keep working. `IBERT_STRICT_PLUGINS=1` turns such a failure into an error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

import attrs
import pluggy

from ibert_core import builtins, hookspecs
from ibert_core.engine import Context
from ibert_core.errors import DuplicateNameError, IbertError, PluginLoadError
from ibert_core.registry import Registries

GROUP = "ibert"


@attrs.frozen
class LoadFailure:
    """A plugin that could not be used, and why."""

    distribution: str
    entry_point: str
    error: str
    stage: str  # "import", "register", "validate", or "select" (IBERT_LOAD_PLUGINS)

    def to_dict(self) -> dict[str, str]:
        return attrs.asdict(self)


class IbertPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers load failures and the registries it built."""

    def __init__(self) -> None:
        super().__init__("ibert")
        self.failures: list[LoadFailure] = []
        self._registries: Registries | None = None
        self._warned = False

    def record_failure(self, failure: LoadFailure) -> None:
        if _strict():
            raise PluginLoadError(failure.distribution, failure.entry_point, failure.error)
        self.failures.append(failure)

    def warn_failures(self) -> None:
        """Say once on stderr which plugins were skipped."""
        if self.failures and not self._warned:
            self._warned = True
            for f in self.failures:
                print(
                    f"ibert: warning: skipped plugin {f.entry_point!r} from {f.distribution}"
                    f" ({f.stage}): {f.error}; see `ibert plugins --all`",
                    file=sys.stderr,
                )

    def reset_registries(self) -> None:
        """Forget the built registries, after plugins were registered or removed."""
        self._registries = None

    @property
    def registries(self) -> Registries:
        """The registries, built on first use from every plugin's `register_*` hooks."""
        if self._registries is None:
            self._registries = build_registries(self)
        return self._registries


def _strict() -> bool:
    return os.environ.get("IBERT_STRICT_PLUGINS", "").strip() not in ("", "0", "false", "no")


def _allowed() -> set[str] | None:
    """Entry-point names `IBERT_LOAD_PLUGINS` allows (None: all; empty set: none)."""
    value = os.environ.get("IBERT_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=GROUP)


def get_plugin_manager(load_entrypoints: bool = True) -> IbertPluginManager:
    """A manager with the hook specs, the built-ins, and (unless told not to) every
    installed plugin, each loaded inside its own guard.
    """
    pm = IbertPluginManager()
    pm.add_hookspecs(hookspecs)
    pm.register(builtins, name="ibert_core.builtins")
    if load_entrypoints:
        allowed = _allowed()
        installed = list(_entry_points())
        names = sorted({ep.name for ep in installed})
        for name in sorted((allowed or set()) - set(names)):
            why = _unknown_plugin(name, names)
            pm.record_failure(LoadFailure("IBERT_LOAD_PLUGINS", name, why, "select"))
        for ep in installed:
            if allowed is not None and ep.name not in allowed:
                continue
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            try:
                plugin = ep.load()
            except Exception as err:  # noqa: BLE001 - any import error must be contained
                pm.record_failure(LoadFailure(dist, ep.name, _describe(err), "import"))
                continue
            try:
                _set_distribution(plugin, dist)
                pm.register(plugin, name=ep.name)
            except Exception as err:  # noqa: BLE001 - e.g. a hookimpl with a wrong signature
                pm.record_failure(LoadFailure(dist, ep.name, _describe(err), "validate"))
    while True:  # a misspelled hookimpl fails loudly, but only its own plugin
        try:
            pm.check_pending()
            break
        except pluggy.PluginValidationError as err:
            name = pm.get_name(err.plugin) or repr(err.plugin)
            dist = _distribution_name(err.plugin, name)
            pm.unregister(err.plugin)
            pm.record_failure(LoadFailure(dist, name, _describe(err), "validate"))
    return pm


def _unknown_plugin(name: str, installed: list[str]) -> str:
    """Why a name `IBERT_LOAD_PLUGINS` asks for loads nothing, with the likely one."""
    import difflib

    close = difflib.get_close_matches(name, installed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no installed plugin is named {name!r}; {hint}installed: {', '.join(installed)}"


def _set_distribution(plugin: object, distribution: str) -> None:
    """Remember a plugin's distribution on the plugin itself (modules and classes allow it)."""
    try:
        setattr(plugin, "__ibert_distribution__", distribution)
    except (AttributeError, TypeError):
        pass


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


_REGISTER_HOOKS: Mapping[str, str] = {
    "tasks": "register_tasks",
    "validators": "register_validators",
    "miners": "register_miners",
    "adapters": "register_adapters",
    "embedders": "register_embedders",
    "sql_readers": "register_sql_readers",
}


def build_registries(pm: IbertPluginManager) -> Registries:
    """Call every plugin's `register_*` hooks into fresh registries.

    Each plugin is called on its own so that one failing plugin is recorded and skipped
    (its partial registrations removed) instead of breaking the others; a duplicate name
    is always an error, since silently picking one would hide a real conflict.
    """
    registries = Registries()
    for kind, hook_name in _REGISTER_HOOKS.items():
        registry = registries.as_mapping()[kind]
        hook = getattr(pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            plugin_name = impl.plugin_name
            dist = _distribution_name(impl.plugin, plugin_name)
            added: list[str] = []

            def register(
                spec: Any,
                _p: str = plugin_name,
                _d: str = dist,
                _reg: Any = registry,
                _added: list[str] = added,
            ) -> None:
                _added.append(_reg.add(spec, plugin=_p, distribution=_d).name)

            try:
                impl.function(**_args(impl, register=register))
            except DuplicateNameError:
                raise
            except IbertError as err:
                _rollback(registry, added)
                pm.record_failure(LoadFailure(dist, plugin_name, str(err), "register"))
            except Exception as err:  # noqa: BLE001 - a plugin's bug must not kill the CLI
                _rollback(registry, added)
                pm.record_failure(LoadFailure(dist, plugin_name, _describe(err), "register"))
    return registries


def _args(impl: Any, **available: Any) -> dict[str, Any]:
    """The hook arguments this hookimpl asked for (pluggy lets it ask for fewer)."""
    return {name: available[name] for name in impl.argnames if name in available}


def _rollback(registry: Any, names: list[str]) -> None:
    for name in names:
        registry.remove(name)


def _distribution_name(plugin: object, plugin_name: str) -> str:
    dist = getattr(plugin, "__ibert_distribution__", None)
    if dist:
        return str(dist)
    if plugin is builtins:
        return "ibert-core"
    return plugin_name


def make_context(
    pm: IbertPluginManager | None = None, config: Mapping[str, Any] | None = None
) -> Context:
    """A Context over `pm`'s registries (a fully loaded manager when none is given)."""
    pm = pm or get_plugin_manager()
    registries = pm.registries

    def resolve(model: str, adapter: str | None) -> str | None:
        answer: str | None = pm.hook.resolve_model(model_id=model, adapter=adapter)
        return answer

    return Context(registries=registries, config=dict(config or {}), resolve_model=resolve)


def describe_plugins(pm: IbertPluginManager, include_all: bool = False) -> list[dict[str, Any]]:
    """What `ibert plugins` prints: each plugin with the names it registered, then failures."""
    registries = pm.registries
    by_plugin: dict[str, dict[str, Any]] = {}
    for kind, registry in registries.as_mapping().items():
        for spec in registry:
            entry = by_plugin.setdefault(
                spec.plugin or "?",
                {"name": spec.plugin, "distribution": spec.distribution},
            )
            entry.setdefault(kind, []).append(spec.name)
    out: list[dict[str, Any]] = []
    for name, plugin in pm.list_name_plugin():
        if plugin is builtins and not include_all:
            continue
        entry = by_plugin.get(name, {})
        entry["name"] = name
        entry["distribution"] = _distribution_name(plugin, name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        entry["hooks"] = hooks
        entry["version"] = _version(entry["distribution"])
        out.append(entry)
    out.sort(key=lambda e: e["name"])
    for f in pm.failures:
        out.append(
            {
                "name": f.entry_point,
                "distribution": f.distribution,
                "error": f.error,
                "stage": f.stage,
            }
        )
    return out


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def call_register_commands(pm: IbertPluginManager, cli: Any) -> None:
    """Let each plugin add commands; a failing plugin is recorded, the rest still add theirs."""
    for impl in reversed(pm.hook.register_commands.get_hookimpls()):
        try:
            impl.function(**_args(impl, cli=cli))
        except Exception as err:
            dist = _distribution_name(impl.plugin, impl.plugin_name)
            if isinstance(err, PluginLoadError):
                raise
            if _strict():
                raise PluginLoadError(dist, impl.plugin_name, _describe(err)) from err
            pm.failures.append(LoadFailure(dist, impl.plugin_name, _describe(err), "register"))
