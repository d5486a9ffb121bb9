"""Run the code samples of `docs/` the way a reader would, page by page.

A page's fenced blocks run in order, in one namespace and one working directory:

* ```python blocks are executed (top-level `await` works) in the page's module, so a page can
  define a model in one block and query it in the next. Blocks run inside one asyncio task per
  page, so `async with` state opened by the runner (a database, an app client) lasts for the
  page.
* ```bash / ```sh blocks run with `bash -euo pipefail` in the page's directory, with the
  virtualenv's `core` on PATH; a `cd` carries over to the next block.
* ```console blocks hold `$ command` lines (with `\\` continuations or a heredoc) followed by
  the output they must print, stdout and stderr together (a line `...` matches any number of
  lines, `...` inside a line any text).
* Other languages (text, ini, toml, json, ...) are prose, unless they carry `file=`.

An HTML comment right before a block passes options (invisible on the site):

    <!-- test: module=blog.models -->      exec the block as the module `blog.models`
    <!-- test: file=src/apps/posts/models.py -->   write the block to that file (python is compiled)
    <!-- test: db -->                      first open a fresh database holding the page's models
                                           and bind it as `db`
    <!-- test: client -->                  first start the page's `app` (core.testing.app_client)
                                           and bind `client` (httpx) and `db` (the app's database)
    <!-- test: raises=ImproperlyConfigured -->     the block must raise this exception
    <!-- test: run="core init my-api --no-venv" reason="..." -->   run this command instead
    <!-- test: background wait=/docs -->   start the command in the background and wait until
                                           http://127.0.0.1:PORT/docs answers (shell blocks of the
                                           page then have `8000` replaced by PORT, a free port)
    <!-- test: skip reason="..." -->       do not run (keep these rare)

Every page runs in a fresh temporary directory. Afterwards the working directory, the
environment, `sys.path`, the framework's registries (auth backends, hashers, token backends,
OAuth providers, settings, the time zone) and the ORM's per-class state are restored, and the
page's modules are forgotten. Samples hash passwords with the real hashers. Databases: SQLite
in memory for `db`, the app's own URL (a SQLite file in the page directory) for `client`, and
DATABASE_URL for both when it is set (PostgreSQL and MariaDB in CI), emptied when a page
starts and after a console command that runs the project's tests (`pytest`, `core test`).
On MySQL/MariaDB console output is compared with backticks read as double quotes (the pages
quote SQL names the PostgreSQL/SQLite way).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import linecache
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent

PYTHON = frozenset({"python", "py"})
BASH = frozenset({"bash", "sh", "shell"})
CONSOLE = frozenset({"console"})

OPTION_KEYS = frozenset(
    {"module", "file", "db", "client", "raises", "run", "reason", "background", "wait", "skip"}
)
#: Settings a developer's or CI's environment must not leak into a sample project.
PROJECT_SETTINGS = ("DATABASE_URL", "MODELS", "MIGRATIONS_DIR", "MIGRATIONS_ENGINE", "USER_MODEL")
#: The port the docs use for `core run`; replaced by a free one on pages with a server.
DOCS_PORT = "8000"
COMMAND_TIMEOUT = 180

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_OPTIONS = re.compile(r"^\s*<!--\s*test:(?P<options>.*?)-->\s*$")
_HEREDOC = re.compile(r"<<-?\s*(?P<quote>['\"]?)(?P<word>\w+)(?P=quote)")


class SampleError(AssertionError):
    """A sample did not behave as its page says."""


# Parsing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # relative to docs/, e.g. "guide/models.md"
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def path(self) -> Path:
        return DOCS / self.page

    @property
    def skip_reason(self) -> str | None:
        if "skip" in self.options:
            return self.options.get("reason") or "no reason given"
        return None

    @property
    def runnable(self) -> bool:
        """Whether the runner does anything with this block (run it or write it)."""
        return self.lang in PYTHON | BASH | CONSOLE or "file" in self.options


def parse_options(text: str, where: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for token in shlex.split(text):
        key, _, value = token.partition("=")
        if key not in OPTION_KEYS:
            raise SampleError(f"{where}: unknown test option {key!r}")
        options[key] = value
    if "skip" in options and not options.get("reason"):
        raise SampleError(f"{where}: `skip` needs reason=...")
    if "run" in options and not options.get("reason"):
        raise SampleError(f"{where}: `run` needs reason=...")
    return options


def parse_page(path: Path) -> list[Block]:
    """The fenced blocks of a markdown page, with the options of the comment before each."""
    page = path.relative_to(DOCS).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip()
        lang = info.split()[0].lower() if info else ""
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
            index += 1
        else:
            raise SampleError(f"{page}:{start + 1}: unclosed code fence")
        index += 1
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        options: dict[str, str] = {}
        if previous >= 0 and (comment := _OPTIONS.match(lines[previous])):
            options = parse_options(comment["options"], f"{page}:{start + 1}")
        blocks.append(Block(page, start + 1, lang, "\n".join(body) + "\n", options))
    return blocks


def python_view(path: Path, blocks: list[Block]) -> list[str]:
    """The page with every line blanked but its python blocks' (dedented) code.

    Registered in `linecache` under the page's path, so tracebacks of samples show the sample
    at the markdown file's own line numbers (and pytest can parse the "source" it shows).
    """
    lines = ["\n"] * len(path.read_text(encoding="utf-8").splitlines())
    for block in blocks:
        if block.lang in PYTHON:
            for offset, code_line in enumerate(block.code.splitlines()):
                lines[block.line + offset] = code_line + "\n"
    return lines


def register_source(path: Path, blocks: list[Block]) -> None:
    lines = python_view(path, blocks)
    linecache.cache[str(path)] = (sum(map(len, lines)), None, lines, str(path))


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def collect_blocks() -> list[Block]:
    return [block for path in doc_pages() for block in parse_page(path) if block.runnable]


def uses_database(blocks: list[Block]) -> bool:
    """Whether a page touches a database (its blocks are then re-run on PostgreSQL in CI)."""
    return any(
        ("db" in b.options or "client" in b.options or b.lang in BASH | CONSOLE)
        and b.skip_reason is None
        for b in blocks
    )


# Console blocks ----------------------------------------------------------------------------


def console_commands(code: str) -> list[tuple[str, list[str]]]:
    """`$ command` lines (with `\\` continuations) and the output lines expected after each."""
    commands: list[tuple[str, list[str]]] = []
    lines = code.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            if line.strip() and not commands:
                raise SampleError(f"console output before any command: {line!r}")
            if commands:
                commands[-1][1].append(line)
            index += 1
            continue
        command = line[2:]
        while command.endswith("\\") and index + 1 < len(lines):
            index += 1
            command = command[:-1] + "\n" + lines[index]
        if heredoc := _HEREDOC.search(command):  # `cmd <<'EOF'` ... `EOF`: the input
            while index + 1 < len(lines):
                index += 1
                command += "\n" + lines[index]
                if lines[index] == heredoc["word"]:
                    break
        commands.append((command, []))
        index += 1
    for _, expected in commands:
        while expected and not expected[-1].strip():
            expected.pop()
    return commands


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in expected.rstrip().split("...")]
    return re.compile(".*".join(parts) + r"\Z")


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Doctest-like: lines match exactly (trailing spaces aside); `...` is a wildcard."""
    if not expected:
        return not actual
    head, *rest = expected
    if head.strip() == "...":
        return any(output_matches(rest, actual[skip:]) for skip in range(len(actual) + 1))
    if not actual or not _line_pattern(head).match(actual[0].rstrip()):
        return False
    return output_matches(rest, actual[1:])


# Running a page ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str | None:
    """DATABASE_URL when the suite runs against a server database (PostgreSQL in CI)."""
    url = os.environ.get("DATABASE_URL")
    return url or None


def _quotes_identifiers_with_backticks() -> bool:
    """True when the pages run on MySQL/MariaDB, whose SQL quotes names with backticks."""
    url = test_database_url()
    return bool(url and url.split(":", 1)[0].split("+", 1)[0].lower() == "mysql")


def module_name(page: str) -> str:
    return "docs_" + re.sub(r"\W", "_", page.removesuffix(".md"))


class PageRun:
    """The state of one page while its blocks run: namespace, directory, event loop, task."""

    def __init__(self, page: str) -> None:
        self.page = page
        self.tmp = tempfile.TemporaryDirectory(prefix="docs-" + module_name(page) + "-")
        self.root = Path(self.tmp.name)
        self.cwd = self.root
        self.module = types.ModuleType(module_name(page))
        self.module.__file__ = str(DOCS / page)
        self.namespace = self.module.__dict__
        self.model_modules: list[str] = [self.module.__name__]
        self.added_modules: list[str] = []
        self.port: str | None = None
        self.db_stack: contextlib.AsyncExitStack | None = None
        self.servers: list[subprocess.Popen[bytes]] = []
        self.done: set[str] = set()
        self.failed: str | None = None
        self._saved = _GlobalState.save()
        self._loop = asyncio.new_event_loop()
        self._inbox: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._register_module(self.module.__name__, self.module)
        os.chdir(self.root)
        sys.path.insert(0, str(self.root))
        self._loop.run_until_complete(self._start())

    # The page's one task: every block (and every `async with` the runner opens) runs in it.

    async def _start(self) -> None:
        await _empty_server_database()
        self._inbox = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._main())

    async def _main(self) -> None:
        assert self._inbox is not None
        async with contextlib.AsyncExitStack() as stack:
            self.stack = stack
            while True:
                job, done = await self._inbox.get()
                if job is None:
                    done.set_result(None)
                    return
                try:
                    done.set_result(await job())
                except BaseException as exc:  # handed to the waiting test
                    done.set_exception(exc)

    def call(self, job: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        async def submit() -> Any:
            assert self._inbox is not None
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await self._inbox.put((job, done))
            return await done

        return self._loop.run_until_complete(submit())

    def close(self) -> None:
        try:
            if self._task is not None and not self._task.done():
                self.call(lambda: asyncio.sleep(0))  # let pending work settle
                self._loop.run_until_complete(self._stop())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            for server in self.servers:
                _stop_process(server)
            self._loop.close()
            self._saved.restore()
            for name in self.added_modules:
                sys.modules.pop(name, None)
            stale = [name for name, m in sys.modules.items() if _defined_under(m, self.root)]
            for name in stale:
                del sys.modules[name]
            self.tmp.cleanup()

    async def _stop(self) -> None:
        assert self._inbox is not None and self._task is not None
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._inbox.put((None, done))
        await done
        await self._task

    # Blocks -------------------------------------------------------------------------------

    def run(self, block: Block) -> None:
        if "file" in block.options:
            self.write_file(block)
        elif block.lang in PYTHON:
            self.call(lambda: self.run_python(block))
        elif block.lang in BASH:
            self.run_bash(block)
        elif block.lang in CONSOLE:
            self.run_console(block)
        self.done.add(block.id)

    def write_file(self, block: Block) -> None:
        target = self.cwd / block.options["file"]
        if block.lang in PYTHON:
            compile(block.code, str(target), "exec")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
        importlib.invalidate_caches()

    def _register_module(self, name: str, module: types.ModuleType) -> None:
        parent, _, _ = name.rpartition(".")
        if parent and parent not in sys.modules:
            package = types.ModuleType(parent)
            package.__path__ = []
            self._register_module(parent, package)
        sys.modules[name] = module
        self.added_modules.append(name)
        if parent:
            setattr(sys.modules[parent], name.rpartition(".")[2], module)

    async def run_python(self, block: Block) -> None:
        if "db" in block.options:
            await self.open_database()
        if "client" in block.options:
            await self.open_client()
        code = compile_sample(block)
        target = self.namespace
        module = None
        if "module" in block.options:
            name = block.options["module"]
            module = sys.modules.get(name) if name in self.added_modules else None
            if module is None:
                module = types.ModuleType(name)
                module.__file__ = str(block.path)
                self._register_module(name, module)
                self.model_modules.append(name)
            target = module.__dict__
        expected = block.options.get("raises")
        try:
            result = types.FunctionType(code, target)()
            if asyncio.iscoroutine(result):
                await result
        except Exception as exc:
            if expected and type(exc).__name__ == expected:
                return
            raise
        if expected:
            raise SampleError(f"{block.id}: expected {expected}, but nothing was raised")
        if module is not None:
            self.namespace.update(
                {k: v for k, v in module.__dict__.items() if not k.startswith("__")}
            )

    async def open_database(self) -> None:
        """A fresh database with every model the page defined so far (replacing the last)."""
        from core.testing import isolated_database

        if self.db_stack is not None:
            await self.db_stack.aclose()
        self.db_stack = contextlib.AsyncExitStack()
        await self.stack.enter_async_context(self.db_stack)
        models = [name for name in self.model_modules if _has_models(sys.modules[name])]
        self.namespace["db"] = await self.db_stack.enter_async_context(
            isolated_database(models=models)
        )

    async def open_client(self) -> None:
        from core.testing import app_client, app_database

        app = self.namespace.get("app")
        if app is None:
            raise SampleError(f"{self.page}: `client` needs an `app` defined on the page")
        self.namespace["client"] = await self.stack.enter_async_context(app_client(app))
        self.namespace["db"] = app_database()

    # Shell ---------------------------------------------------------------------------------

    def shell_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.upper() not in PROJECT_SETTINGS}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # files rewritten within a second stay fresh
        env.pop("PYTEST_ADDOPTS", None)
        env.pop("PYTEST_CURRENT_TEST", None)
        if url := test_database_url():
            env["DATABASE_URL"] = url
        return env

    def substitute(self, text: str) -> str:
        return text.replace(DOCS_PORT, self.port) if self.port else text

    def run_bash(self, block: Block) -> None:
        script = block.options.get("run") or block.code
        if "background" in block.options:
            self.start_server(block, script)
            return
        state = self.root / ".docs-cwd"
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", f"{self.substitute(script)}\npwd > {state}"],
            cwd=self.cwd,
            env=self.shell_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise SampleError(
                f"{block.id}: the commands exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}{self.server_logs()}"
            )
        importlib.invalidate_caches()  # the commands may have written modules
        cwd = Path(state.read_text().strip())
        if cwd != self.cwd:
            # Python blocks after a `cd` run there too, able to import the project's modules.
            self.cwd = cwd
            os.chdir(cwd)
            sys.path.insert(0, str(cwd))

    def server_logs(self) -> str:
        """The end of the background servers' output, for failure messages."""
        logs = sorted(self.root.glob(".server-*.log"))
        return "".join(f"\n{log.name}:\n{log.read_text(errors='replace')[-2000:]}" for log in logs)

    def run_console(self, block: Block) -> None:
        for command, expected in console_commands(block.code):
            result = subprocess.run(
                ["bash", "-o", "pipefail", "-c", self.substitute(command)],
                cwd=self.cwd,
                env=self.shell_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            if runs_project_tests(command):
                # The project's tests own DATABASE_URL's database while they run (a fresh schema
                # per test) and leave it without migration records: start again from empty.
                self._loop.run_until_complete(_empty_server_database())
            actual = result.stdout.rstrip("\n").splitlines()
            wanted = [self.substitute(line) for line in expected]
            if _quotes_identifiers_with_backticks():
                # MySQL quotes identifiers `so`, the pages "so": read both as the same quote.
                actual = [line.replace("`", '"') for line in actual]
                wanted = [line.replace("`", '"') for line in wanted]
            if not output_matches(wanted, actual):
                raise SampleError(
                    f"{block.id}: `{command}` printed (exit {result.returncode}):\n"
                    + textwrap.indent(result.stdout, "    ")
                    + "\nbut the page shows:\n"
                    + textwrap.indent("\n".join(expected), "    ")
                    + self.server_logs()
                )
            if result.returncode != 0 and not expected:
                raise SampleError(f"{block.id}: `{command}` exited {result.returncode}")

    def start_server(self, block: Block, command: str) -> None:
        """Start `command` in the background; a port taken meanwhile gets another try."""
        for attempt in range(3):
            self.port = self.port or str(free_port())
            log = self.root / f".server-{len(self.servers)}.log"
            with log.open("wb") as output:
                server = subprocess.Popen(  # noqa: S602 - the page's own command
                    self.substitute(command),
                    shell=True,
                    cwd=self.cwd,
                    env=self.shell_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.servers.append(server)
            if self._wait_for_server(block, server, log):
                return
            if attempt < 2 and "address already in use" in log.read_text(errors="replace"):
                self.port = None
                continue
            raise SampleError(
                f"{block.id}: the server exited {server.returncode}:\n{log.read_text()[-3000:]}"
            )

    def _wait_for_server(self, block: Block, server: subprocess.Popen[bytes], log: Path) -> bool:
        """True once the server answers; False if it exited first."""
        import httpx

        url = f"http://127.0.0.1:{self.port}{block.options.get('wait') or '/'}"
        deadline = time.monotonic() + 60
        while server.poll() is None:
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    return True
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SampleError(
                    f"{block.id}: nothing answered at {url} within 60 s:\n"
                    f"{log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.2)
        return False


def compile_sample(block: Block) -> types.CodeType:
    """The block's code, with pytest's assertion messages, at the page's line numbers."""
    # Leading newlines make tracebacks point at the markdown file's own line numbers.
    source = "\n" * block.line + block.code
    tree = ast.parse(source, str(block.path))
    try:
        from _pytest.assertion.rewrite import rewrite_asserts
    except ImportError:  # pragma: no cover - plain asserts then
        pass
    else:
        rewrite_asserts(tree, source.encode(), str(block.path))
    return compile(tree, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _has_models(module: types.ModuleType) -> bool:
    from tortoise.models import Model

    return any(
        isinstance(value, type) and issubclass(value, Model) and not value._meta.abstract
        for value in vars(module).values()
    )


def _defined_under(module: types.ModuleType | None, root: Path) -> bool:
    """Whether a module (or namespace package) was imported from the page's directory."""
    paths: list[Any] = [getattr(module, "__file__", None)]
    with contextlib.suppress(Exception):  # a namespace package whose parent is gone
        paths += list(getattr(module, "__path__", None) or [])
    for path in paths:
        if isinstance(path, str) and path:
            with contextlib.suppress(ValueError):
                Path(path).resolve().relative_to(root.resolve())
                return True
    return False


def runs_project_tests(command: str) -> bool:
    """Whether a console command runs the project's own test-suite (`pytest`, `core test`)."""
    words = command.split()
    return words[:1] == ["pytest"] or words[:2] == ["core", "test"]


async def _empty_server_database() -> None:
    """A page starts from an empty database: drop every table of DATABASE_URL's database."""
    url = test_database_url()
    if url is None:
        return
    from core.db import connect, drop_all_tables

    async with connect(url, models=[]) as db:
        await drop_all_tables(db)


def _core_models() -> list[Any]:
    from core.auth import models

    return [models.Group, models.Permission, models.RevokedToken, models.APIKey,
            models.OAuthIdentity]  # fmt: skip


def _foreign_relations(meta: Any) -> list[str]:
    """Relations that models outside core added to a core model (`Group.users`, ...)."""
    from tortoise.fields.relational import BackwardFKRelation, ManyToManyFieldInstance

    names = []
    for name, relation in meta.fields_map.items():
        generated = isinstance(relation, BackwardFKRelation) or (
            isinstance(relation, ManyToManyFieldInstance) and relation._generated
        )
        related = getattr(relation, "related_model", None)
        if generated and not getattr(related, "__module__", "core.").startswith("core."):
            names.append(name)
    return names


def _strip(meta: Any, name: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Remove relation `name` from a model's meta; what was removed, to put back later."""
    field = meta.fields_map.pop(name)
    for container in (meta.m2m_fields, meta.backward_fk_fields, meta.backward_o2o_fields):
        container.discard(name)
    meta.fields_db_projection.pop(name, None)
    removed: list[dict[str, Any]] = []
    for filters in (meta._filters, meta.filters):
        keys = [key for key in filters if key == name or key.startswith(name + "__")]
        removed.append({key: filters.pop(key) for key in keys})
    meta.finalise_fields()
    return field, removed[0], removed[1]


def _isolate_core_models() -> dict[Any, dict[str, Any]]:
    """Take the relations other user models added to core's models off them, for a page.

    Tortoise initialises a model class once per process and then adds the backward side of
    its relations to the related models: a page's `class User(AbstractUser, PermissionsMixin)`
    (table `users`) would collide with the `Group.users` of an earlier user model (the
    test-suite's own, or another page's). Each page starts without them; `_restore_core_models`
    takes the page's off again and puts the earlier ones back.
    """
    return {
        model: {name: _strip(model._meta, name) for name in _foreign_relations(model._meta)}
        for model in _core_models()
    }


def _restore_core_models(saved: dict[Any, dict[str, Any]]) -> None:
    for model, relations in saved.items():
        meta = model._meta
        for name in _foreign_relations(meta):
            _strip(meta, name)
        for name, (relation, filters, generated_filters) in relations.items():
            meta.add_field(name, relation)
            meta._filters.update(filters)
            meta.filters.update(generated_filters)


@dataclass
class _GlobalState:
    """What pages may change process-wide, as it was before the page."""

    cwd: str
    environ: dict[str, str]
    path: list[str]
    modules: set[str]
    models_by_table: dict[str, Any]
    pending_references: dict[str, list[Any]]
    core_models: dict[Any, dict[str, Any]]
    executor_cache: dict[Any, Any]

    @classmethod
    def save(cls) -> _GlobalState:
        from tortoise.backends.base import executor

        from core.models import registry

        # Tortoise caches INSERT statements by table name, whatever the model class: a page's
        # `users` model with other columns than the last one needs its own.
        executor_cache = dict(executor.EXECUTOR_CACHE)
        executor.EXECUTOR_CACHE.clear()
        return cls(
            cwd=os.getcwd(),
            environ=dict(os.environ),
            path=list(sys.path),
            modules=set(sys.modules),
            models_by_table=dict(registry._models_by_table),
            pending_references={k: list(v) for k, v in registry._pending.items()},
            core_models=_isolate_core_models(),
            executor_cache=executor_cache,
        )

    def restore(self) -> None:
        from tortoise.backends.base import executor

        from core.models import registry
        from core.testing import reset_framework_state

        registry._models_by_table.clear()
        registry._models_by_table.update(self.models_by_table)
        registry._pending.clear()
        registry._pending.update(self.pending_references)
        _restore_core_models(self.core_models)
        executor.EXECUTOR_CACHE.clear()
        executor.EXECUTOR_CACHE.update(self.executor_cache)
        os.chdir(self.cwd)
        os.environ.clear()
        os.environ.update(self.environ)
        sys.path[:] = self.path
        reset_framework_state()


class DocRunner:
    """Runs blocks on demand: the blocks before one on its page run first (once)."""

    def __init__(self, blocks: list[Block]) -> None:
        self.pages: dict[str, list[Block]] = {}
        for block in blocks:
            self.pages.setdefault(block.page, []).append(block)
        for page_blocks in self.pages.values():
            register_source(page_blocks[0].path, page_blocks)
        self.current: PageRun | None = None

    @contextlib.contextmanager
    def _page(self, page: str) -> Iterator[PageRun]:
        if self.current is not None and self.current.page != page:
            self.close()
        if self.current is None:
            self.current = PageRun(page)
        yield self.current

    def run(self, block: Block) -> None:
        with self._page(block.page) as run:
            if run.failed is not None:
                raise SampleError(f"not run: an earlier block of the page failed ({run.failed})")
            blocks = self.pages[block.page]
            for earlier in blocks[: blocks.index(block) + 1]:
                if earlier.id in run.done or earlier.skip_reason is not None:
                    continue
                try:
                    run.run(earlier)
                except BaseException:
                    run.failed = earlier.id
                    raise
            if block is blocks[-1] or all(
                b.id in run.done or b.skip_reason for b in blocks[blocks.index(block) :]
            ):
                self.close()

    def close(self) -> None:
        if self.current is not None:
            current, self.current = self.current, None
            current.close()
