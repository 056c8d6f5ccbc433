"""The `ibert` command line.

`ibert run TASK` is a group whose sub-commands are the registered tasks, built on demand,
so each task can add options of its own and `ibert run --help` lists what is installed.
Errors a user can fix are one line on stderr (exit 2); the traceback shows only with
`--debug`. Plugins are loaded on first use, not at import, so a broken plugin cannot
break `ibert --help`.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from ibert_core import __version__, engine
from ibert_core.config import load_config, task_settings
from ibert_core.errors import BadInput, IbertError, UnknownNameError
from ibert_core.plugins import (
    IbertPluginManager,
    call_register_commands,
    describe_plugins,
    get_plugin_manager,
    make_context,
)
from ibert_core.registry import KINDS, TaskSpec
from ibert_core.schema import load as load_schema_value
from ibert_core.schema import load_with_plugin
from ibert_core.types import DataSource, Schema, TaskRequest

#: Exit codes: verified, produced but not verified, bad input, internal error.
EXIT_VERIFIED, EXIT_UNVERIFIED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class IbertGroup(click.Group):
    """The root group: owns the plugin manager and adds plugin commands on first use."""

    def __init__(self, pm_factory: Callable[[], IbertPluginManager], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pm_factory = pm_factory
        self._pm: IbertPluginManager | None = None
        self._plugin_commands_added = False

    @property
    def pm(self) -> IbertPluginManager:
        if self._pm is None:
            self._pm = self._pm_factory()
        return self._pm

    def _add_plugin_commands(self) -> None:
        if not self._plugin_commands_added:
            self._plugin_commands_added = True
            call_register_commands(self.pm, self)
            self.pm.warn_failures()

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # Plugins may add sub-commands to built-in groups (`ibert data mine`), so they
        # are added before any lookup, not only when a top-level name is unknown.
        self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and not name.startswith("-") and self.get_command(ctx, name) is None:
            raise UnknownNameError("command", name, self.list_commands(ctx))
        return super().resolve_command(ctx, args)


def current_pm() -> IbertPluginManager:
    """The plugin manager of the running `ibert` invocation."""
    root = click.get_current_context().find_root().command
    if isinstance(root, IbertGroup):
        return root.pm
    return get_plugin_manager()


# --- options shared by every task and by plugin commands ----------------------------------


def schema_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--schema`, `--db` and `--parquet` to a command."""
    func = click.option(
        "--parquet",
        "parquet",
        metavar="DIR",
        help="A folder of parquet files, one table per file stem (read-only data).",
    )(func)
    func = click.option(
        "--db",
        "db",
        metavar="FILE",
        help="A DuckDB database file: its tables' schemas and data (opened read-only).",
    )(func)
    func = click.option(
        "--schema",
        "schema",
        metavar="SCHEMA",
        help="Inline 't(a int64, b string); u(id int64)', or a .json/.yaml/.sql file.",
    )(func)
    return func


def resolve_schema(
    schema: str | None,
    db: str | None,
    parquet: str | None,
    pm: IbertPluginManager | None = None,
) -> tuple[Schema | None, DataSource | None]:
    """The schema and the real data a command was given (either may be None)."""
    if db and parquet:
        raise BadInput("--db and --parquet both given", "use one source of real data")
    pm = pm or current_pm()

    def loader(kind: str, location: str) -> Schema | None:
        found: Schema | None = pm.hook.load_schema(kind=kind, location=location)
        return found

    data: DataSource | None = None
    from_data: Schema | None = None
    if db or parquet:
        kind, location = ("db", db) if db else ("parquet", parquet)
        assert location is not None
        path = Path(location)
        if kind == "db" and not path.is_file():
            if path.is_dir():
                raise BadInput(f"--db {location} is a folder", "pass a DuckDB database file")
            raise BadInput(f"DuckDB file {location} does not exist", "check the --db path")
        if kind == "parquet" and not path.is_dir():
            if path.exists():
                raise BadInput(
                    f"--parquet {location} is a file, not a folder",
                    "pass the folder holding one .parquet file per table",
                )
            raise BadInput(f"parquet folder {location} does not exist", "check the --parquet path")
        data = DataSource(kind, str(path.resolve()))
        from_data = load_with_plugin(kind, str(path), loader)
    if schema and "(" not in schema and Path(schema).is_dir():
        raise BadInput(
            f"--schema {schema} is a folder",
            "pass a .json/.yaml/.sql file, or tables inline as 't(a int64)'",
        )
    given = load_schema_value(schema, loader) if schema else None
    if from_data and given:
        return from_data.merge(given), data
    return given or from_data, data


#: Suffixes that make a one-word INPUT a file name: when no such file exists it is a typo
#: in a path, not code (`ibert run sql_to_ibis qurey.sql` would otherwise try to translate
#: the text "qurey.sql"). Questions are exempt: `Table.sql` is a fair one.
FILE_SUFFIXES = frozenset({".sql", ".py", ".txt", ".ipynb", ".md", ".qmd", ".rst"})


def read_input(value: str | None, kind: str | None = None) -> str:
    """INPUT is a file path, `-` for stdin, or the text itself (of `kind`, a task's input)."""
    if value is None or value == "-":
        if value is None and sys.stdin.isatty():
            raise BadInput("no INPUT given", "pass the input text, a file path, or '-' for stdin")
        return sys.stdin.read()
    if "\n" in value or len(value) >= 4096 or not value.strip():
        return value
    path = Path(value)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError:  # no possible path (a name too long...): the text itself
        return value
    if is_dir:
        raise BadInput(
            f"INPUT {value} is a folder", "pass a file, '-' for stdin, or the text itself"
        )
    if is_file:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"INPUT file {value} is not UTF-8 text", "pass a text file") from None
        except OSError as err:
            raise BadInput(
                f"cannot read INPUT file {value} ({err.strerror or err})",
                "check the file's permissions",
            ) from None
    names_a_file = not any(c.isspace() for c in value) and path.suffix.lower() in FILE_SUFFIXES
    if names_a_file and kind != "question":
        raise BadInput(
            f"INPUT file {value} does not exist",
            "check the path (text that looks like a file name can come through '-' and stdin)",
        )
    return value


_COMMON_RUN_OPTIONS: Sequence[Callable[[Callable[..., Any]], Callable[..., Any]]] = (
    click.argument("input_value", metavar="[INPUT]", required=False),
    schema_options,
    click.option("--dialect", default=None, help="SQL dialect of the input (any sqlglot reads)."),
    click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON."),
    click.option("--model", default=None, help="A model to add candidates (local path or hub id)."),
    click.option("--adapter", default=None, help="A LoRA adapter for --model."),
    click.option("--debug", is_flag=True, help="Show tracebacks."),
)


def _task_command(spec: TaskSpec) -> click.Command:
    own = {p.name for p in spec.options}

    def callback(**params: Any) -> None:
        task_opts = {k: v for k, v in params.items() if k in own}
        run_task(spec, params, task_opts, click.get_current_context())

    return click.Command(
        name=spec.name,
        callback=callback,
        help=f"{spec.summary}\n\nINPUT is a file path, '-' for stdin, or the text itself.",
        short_help=spec.summary,
        params=[*spec.options, *_common_run_params()],
    )


def _common_run_params() -> list[click.Parameter]:
    """The shared options of `ibert run TASK`, in the order the README gives them.

    Decorators stack in reverse on a function, so they are applied to a throwaway one and
    read back in source order (applied to a Command they would append in reverse)."""

    def holder() -> None:
        """Never called."""

    for decorate in reversed(_COMMON_RUN_OPTIONS):
        holder = decorate(holder)
    return list(reversed(getattr(holder, "__click_params__", [])))


def run_task(
    spec: TaskSpec, params: dict[str, Any], task_opts: dict[str, Any], ctx: click.Context
) -> None:
    """Build the request, run the engine, print the answer, exit with the verdict's code."""
    pm = current_pm()
    config = load_config(
        {"dialect": params["dialect"], "model": params["model"], "adapter": params["adapter"]}
    )
    # Task settings from config files apply where the flag was left at its default.
    options = dict(task_opts)
    for key, value in task_settings(config, spec.name).items():
        if key in options and ctx.get_parameter_source(key) != click.core.ParameterSource.DEFAULT:
            continue
        options[key] = value
    text = read_input(params["input_value"], spec.input_kind)
    if not text.strip():
        raise BadInput("INPUT is empty", f"give {spec.input_kind} to `ibert run {spec.name}`")
    schema, data = resolve_schema(params["schema"], params["db"], params["parquet"], pm)
    request = TaskRequest(
        task=spec.name,
        text=text,
        schema=schema,
        data=data,
        dialect=config.get("dialect"),
        model=config.get("model"),
        adapter=config.get("adapter"),
        options=options,
    )
    context = make_context(pm, config)
    try:
        result = engine.run(context, request)
    finally:
        context.close()
    if params["as_json"]:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        click.echo(result.answer)
        if not result.verified:
            click.echo(
                f"ibert: NOT VERIFIED: {result.verdict.feedback if result.verdict else ''}",
                err=True,
            )
    ctx.exit(EXIT_VERIFIED if result.verified else EXIT_UNVERIFIED)


class RunGroup(click.Group):
    """`ibert run`: one sub-command per registered task."""

    def _tasks(self) -> Any:
        return current_pm().registries.tasks

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._tasks().names())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        tasks = self._tasks()
        if cmd_name not in tasks:
            return None
        return _task_command(tasks.get(cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and not args[0].startswith("-"):
            self._tasks().get(args[0])  # raises UnknownNameError with the closest task
        return super().resolve_command(ctx, args)


# --- built-in commands ----------------------------------------------------------------------


@click.command(cls=RunGroup, name="run")
def run_group() -> None:
    """Run a task: TASK [INPUT] with --schema/--db/--parquet, --dialect, --json, --model."""


@click.command(name="tasks")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tasks_command(as_json: bool) -> None:
    """List the tasks installed plugins provide."""
    pm = current_pm()
    rows = [
        {
            "name": s.name,
            "summary": s.summary,
            "input": s.input_kind,
            "output": s.output_kind,
            "plugin": s.plugin,
            "distribution": s.distribution,
        }
        for s in pm.registries.tasks
    ]
    pm.warn_failures()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tasks installed; pip install ibert-tasks-sql (or another task plugin)")
        return
    width = max(len(str(r["name"])) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['summary']}  [{r['distribution']}]")


@click.command(name="plugins")
@click.option("--all", "include_all", is_flag=True, help="Include the core's built-in plugin.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(include_all: bool, as_json: bool) -> None:
    """List installed plugins, what they register, and any that failed to load."""
    pm = current_pm()
    rows = describe_plugins(pm, include_all=include_all)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        if "error" in r:
            click.echo(f"{r['name']}  [{r['distribution']}]  FAILED ({r['stage']}): {r['error']}")
            continue
        parts = [
            f"{kind}: {', '.join(r[kind])}"
            for kind in KINDS
            if r.get(kind)
        ]
        version = f" {r['version']}" if r.get("version") else ""
        click.echo(
            f"{r['name']}  [{r['distribution']}{version}]  "
            + ("; ".join(parts) or "registers nothing yet")
        )


@click.command(name="stats")
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def data_stats_command(path: str, as_json: bool) -> None:
    """Count the records of a corpus file or folder of *.jsonl by split and task."""
    from ibert_core.corpus import corpus_stats

    stats = corpus_stats(Path(path))
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    click.echo(f"{stats['total']} records")
    for split, tasks in stats["by_split"].items():
        counts = ", ".join(f"{task} {n}" for task, n in sorted(tasks.items()))
        click.echo(f"  {split}: {sum(tasks.values())} ({counts})")


def _data_group() -> click.Group:
    """A fresh `ibert data` group per CLI, so plugin sub-commands never leak between CLIs."""

    @click.group(name="data")
    def data() -> None:
        """Corpus work: build, mine, inspect. Plugins add sub-commands to this group."""

    data.add_command(data_stats_command)
    return data


def data_commands(cli: click.Group) -> click.Group:
    """The `ibert data` group, for plugins adding corpus commands in `register_commands`."""
    group = cli.commands["data"]
    assert isinstance(group, click.Group)
    return group


def make_cli(pm_factory: Callable[[], IbertPluginManager] = get_plugin_manager) -> IbertGroup:
    """A fresh `ibert` group (tests build one per invocation with their own manager)."""

    @click.group(cls=IbertGroup, pm_factory=pm_factory, name="ibert")
    @click.version_option(__version__, prog_name="ibert")
    @click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
    def cli(debug: bool) -> None:
        """iBERT: SQL and Ibis code you can trust, every answer checked by running it."""

    cli.add_command(run_group)
    cli.add_command(tasks_command)
    cli.add_command(plugins_command)
    cli.add_command(_data_group())
    assert isinstance(cli, IbertGroup)
    return cli


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: one-line errors, exit codes 0/1/2, tracebacks only with --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    cli = make_cli()
    try:
        code = cli.main(args=args, prog_name="ibert", standalone_mode=False)
    except click.exceptions.Exit as stop:
        code = stop.exit_code
    except click.exceptions.Abort:
        click.echo("ibert: aborted", err=True)
        code = 130
    except click.exceptions.NoArgsIsHelpError as err:
        err.show()  # a bare group (`ibert run`): its help is the answer
        code = EXIT_USAGE
    except click.ClickException as err:
        if debug:
            traceback.print_exc()
        click.echo(f"ibert: error: {_click_error_line(err)}", err=True)
        code = EXIT_USAGE if err.exit_code in (1, 2) else err.exit_code
    except IbertError as err:
        if debug:
            traceback.print_exc()
        click.echo(f"ibert: error: {err}", err=True)
        code = err.exit_code
    except OSError as err:
        if err.filename is None:  # no path named: nothing the user can point at
            code = _internal(err, debug)
        else:
            if debug:
                traceback.print_exc()
            click.echo(f"ibert: error: {_os_error_line(err)}", err=True)
            code = EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - a bug: one line, details with --debug
        code = _internal(err, debug)
    sys.exit(code if isinstance(code, int) else 0)


def _click_error_line(err: click.ClickException) -> str:
    """Click's own usage errors as one line, like ours, pointing at the command's --help
    (click prints the usage line, a hint and the error on three)."""
    message = err.format_message().rstrip(".")
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.UsageError) and ctx is not None:
        return f"{message}; see `{ctx.command_path} --help`"
    return message


def _os_error_line(err: OSError) -> str:
    """A file the user named (or its folder) cannot be read or written: say which and why."""
    where = f"{err.filename} -> {err.filename2}" if err.filename2 else str(err.filename)
    return f"cannot use {where} ({err.strerror or err}); check the path and its permissions"


def _internal(err: BaseException, debug: bool) -> int:
    """A bug: one line on stderr, the traceback only with --debug (called while handling)."""
    if debug:
        traceback.print_exc()
    first = str(err).splitlines()[0] if str(err) else ""
    click.echo(
        f"ibert: internal error: {type(err).__name__}: {first} "
        "(rerun with --debug for the traceback, and please report it)",
        err=True,
    )
    return EXIT_INTERNAL
