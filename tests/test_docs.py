"""The README and the documentation site (docs/, built by `mkdocs build --strict` in .ci/run) as a reader uses them.

Every shell block (```bash) of README.md and of docs/**/*.md carries a marker on the line above it, an HTML comment
that neither GitHub nor the site shows, and this file does what the marker says; a block without one fails:

* ``<!-- test: runs -->``: every command of the block runs, in-process through :func:`hpsearch.cli.main`, in one scratch
  folder (a copy of ``studies/``, the default store ``./hpsearch.db``) where the README's quickstart ran first, and
  must exit 0. A command met twice runs once. Nothing is substituted: the command runs as written.
* ``<!-- test: parses: REASON -->``: every command is an ``hpsearch`` command that ``hpsearch``'s own parser accepts, and
  the study file it names exists; it is not run, for REASON (full MNIST, a database server, a cluster, a server that
  runs until Ctrl-C, or more seconds than this file may take).
* ``<!-- test: ci -->``: the install or the test command; ``.ci/run`` runs each of its commands, in this order.
* ``<!-- test: not run: REASON -->``: not run (``pip install``, ``python benchmarks/...``), for REASON.

The README may hold only blocks that run or that CI runs. A ```toml block marked ``<!-- test: study -->`` must be a
valid study; every ```toml block must parse and every ```python block must compile. docs/recipes/ is tested by
tests/test_recipes.py. The reference pages are generated at build time by docs/gen_reference.py; here they are checked
to cover every key, bound, command, option and public name of the code.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RECIPES = DOCS / "recipes"  # tests/test_recipes.py
README_MAX_LINES = 200
#: The README's quickstart: run once, first, in the scratch folder every `runs` block shares.
QUICKSTART = "hpsearch run studies/quickstart.toml"

SHELL = {"bash", "sh", "shell", "console"}
_MARKER = re.compile(r"^\s*<!-- test: (runs|ci|study|parses: (?P<why>.+?)|not run: (?P<whynot>.+?)) -->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page."""

    path: Path
    line: int
    language: str
    marker: str | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str | None:
        return None if self.marker is None else self.marker.split(":", 1)[0]


def pages() -> list[Path]:
    """The README and every page of the site written in docs/ (the recipes apart)."""
    return [README, *sorted(p for p in DOCS.rglob("*.md") if not p.is_relative_to(RECIPES))]


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of ``path``, each with the marker on the last non-blank line above it."""
    lines = path.read_text(encoding="utf-8").split("\n")
    out: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = len(match["indent"]), match["fence"]
        above = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = _MARKER.match(above)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        out.append(Block(path, i + 1, match["lang"].lower(), marker.group(1) if marker else None, "\n".join(body)))
        i = j + 1
    return out


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks(p)]


def shell_blocks(kind: str | None = None) -> list[Block]:
    return [b for b in all_blocks() if b.language in SHELL and (kind is None or b.kind == kind)]


def commands(block: Block) -> list[list[str]]:
    """The commands of a shell block, each as its words (``a && b`` and ``a; b`` are two); pipes and redirections
    are refused, so that a command marked to run is run as written."""
    out: list[list[str]] = []
    for line in block.text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in ("&&", ";"):
                if words:
                    out.append(words)
                words = []
            elif token and set(token) <= set("|&<>()"):
                raise AssertionError(f"{block.where}: {token!r} in {line!r}: a command block holds plain commands only")
            else:
                words.append(token)
    return out


def ids(block: Block) -> str:
    return block.where


# ---------------------------------------------------------------------------------------------------- every block


def test_every_shell_block_says_whether_it_runs() -> None:
    unmarked = [b.where for b in shell_blocks() if b.marker is None]
    assert not unmarked, f"shell blocks without a <!-- test: ... --> marker above them: {unmarked}"
    for block in shell_blocks():
        assert commands(block), f"{block.where}: a command block without a command"


def test_the_readme_holds_only_commands_that_run() -> None:
    readme = [b for b in shell_blocks() if b.path == README]
    assert readme and all(b.kind in ("runs", "ci") for b in readme), [(b.where, b.marker) for b in readme]
    assert any(" ".join(c) == QUICKSTART for b in readme if b.kind == "runs" for c in commands(b))


def test_no_command_hides_in_an_indented_code_block() -> None:
    """Four spaces make a code block too; a command there would escape the markers."""
    for path in pages():
        fenced = False
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if _FENCE.match(line):
                fenced = not fenced
            elif not fenced and re.match(r"^ {4,}(hpsearch|pip|python|lint-imports|mkdocs) ", line):
                raise AssertionError(f"{path.relative_to(ROOT)}:{n}: a command in an indented block: {line.strip()!r}")


@pytest.mark.parametrize("block", [b for b in all_blocks() if b.language == "python"], ids=ids)
def test_python_blocks_compile(block: Block) -> None:
    ast.parse(block.text, filename=block.where)


@pytest.mark.parametrize("block", [b for b in all_blocks() if b.language == "toml"], ids=ids)
def test_toml_blocks_parse_and_studies_are_valid(block: Block) -> None:
    document = tomllib.loads(block.text)
    if block.kind == "study":
        import hpsearch

        hpsearch.parse_study(document, default_name="docs-example")


# ---------------------------------------------------------------------------------------------------- commands


def _normalised(words: list[str]) -> list[str]:
    """``python3 -m pip install -q ...`` as ``pip install ...``: the same command, however it is invoked."""
    if len(words) > 2 and words[0] in ("python", "python3") and words[1] == "-m":
        words = words[2:]
    return [w for w in words if w not in ("-q", "-qq")]


def ci_commands() -> list[list[str]]:
    """The commands .ci/run runs (its lines, comments and shell plumbing aside)."""
    out = []
    for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(_normalised(shlex.split(line)))
        except ValueError:
            continue
    return out


@pytest.mark.parametrize("block", shell_blocks("ci"), ids=ids)
def test_ci_runs_the_commands_marked_ci(block: Block) -> None:
    ran = ci_commands()
    position = -1
    for command in commands(block):
        wanted = _normalised(command)
        later = [i for i, c in enumerate(ran) if c == wanted and i > position]
        assert later, f"{block.where}: .ci/run does not run {' '.join(command)!r} (after the block's commands before it)"
        position = later[0]


def test_ci_builds_the_site_before_the_tests() -> None:
    ran = ci_commands()
    build = next((i for i, c in enumerate(ran) if c[:3] == ["mkdocs", "build", "--strict"]), None)
    assert build is not None, ".ci/run does not build the site (mkdocs build --strict)"
    assert build + 1 == ran.index(["lint-imports"]) < ran.index(["pytest"])


@pytest.mark.parametrize("block", shell_blocks("parses"), ids=ids)
def test_commands_not_run_are_still_valid_commands(block: Block) -> None:
    from hpsearch.arguments import values_joined_to_options
    from hpsearch.cli import build_parser

    parser = build_parser()
    for command in commands(block):
        assert command[0] == "hpsearch", f"{block.where}: only hpsearch commands can be parsed ({command[0]!r})"
        try:
            args = parser.parse_args(values_joined_to_options(parser, command[1:]))
        except SystemExit as exit_:
            raise AssertionError(f"{block.where}: hpsearch refuses {shlex.join(command)!r} (exit {exit_.code})") from None
        study = getattr(args, "study", None)
        if study is not None:
            assert (ROOT / study).is_file(), f"{block.where}: {study} is no study file of the repository"


def test_blocks_not_run_say_why() -> None:
    for block in shell_blocks():
        if block.kind in ("parses", "not run"):
            assert block.marker is not None and len(block.marker.split(":", 1)[1].strip()) > 5, f"{block.where}: say why"


@dataclass
class Workspace:
    root: Path
    #: Commands run already (a command met in several blocks runs once).
    ran: set[str]
    #: What the quickstart printed.
    quickstart: str


def run_command(words: list[str]) -> int:
    from hpsearch.cli import main

    assert words[0] == "hpsearch", f"only hpsearch commands run here, in-process ({shlex.join(words)!r})"
    try:
        return main(words[1:])
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A scratch folder that sees the repository's studies, where the README's quickstart has run (once, for every block)."""
    root = tmp_path_factory.mktemp("docs-commands")
    (root / "studies").symlink_to(ROOT / "studies", target_is_directory=True)  # read only: stores go to ./
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("HPSEARCH_STORE", raising=False)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert run_command(shlex.split(QUICKSTART)) == 0
        yield Workspace(root, {QUICKSTART}, printed.getvalue())


@pytest.mark.keras
@pytest.mark.parametrize("block", shell_blocks("runs"), ids=ids)
def test_commands_marked_runs_run(block: Block, workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    for command in commands(block):
        line = shlex.join(command)
        if line in workspace.ran:
            continue
        code = run_command(command)
        output = capsys.readouterr()
        assert code == 0, f"{block.where}: {line!r} exited {code}\n{output.out[-2000:]}\n{output.err[-2000:]}"
        workspace.ran.add(line)


@pytest.mark.keras
def test_the_quickstart_prints_what_the_readme_shows(workspace: Workspace) -> None:
    """The README shows the quickstart's trial table and result; its table header and result lines are printed so
    (the numbers are this machine's: the lines are compared up to them)."""
    shown = next(b.text for b in blocks(README) if b.language == "" and "best trial of quickstart" in b.text)
    for line in shown.splitlines():
        if line.startswith(("trial ", "-----", "best trial of quickstart: trial", "  test accuracy = ")):
            pattern = re.escape(re.sub(r"[\d.]+", "0", line)).replace("0", r"[\d.]+")
            assert re.search(pattern, workspace.quickstart), f"the quickstart no longer prints {line!r}"
    for name in ("width", "dropout", "optimizer", "learning_rate"):
        assert f"  {name} = " in workspace.quickstart


# ---------------------------------------------------------------------------------------------------- the README


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; the rest belongs on the site (docs/)"


def nav_pages() -> list[str]:
    """Every page of the site's navigation (paths inside docs/)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    return found


def links(path: Path) -> list[str]:
    """The relative link and image targets of a page (code blocks and inline code aside), without their anchors."""
    text = re.sub(r"^(\s*)(```|~~~).*?^\1\2", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t.split("#", 1)[0] for t in _LINK.findall(text) if "://" not in t and not t.startswith(("#", "mailto:"))]


def test_every_link_of_the_readme_and_the_pages_reaches_a_file() -> None:
    for path in pages():
        for target in links(path):
            resolved = (path.parent / target).resolve()
            generated_notebook = resolved.parent == DOCS / "notebooks" and (ROOT / "notebooks" / f"{resolved.stem}.ipynb").is_file()
            assert resolved.exists() or generated_notebook, f"{path.relative_to(ROOT)}: the link {target!r} leads nowhere"


def test_the_readme_reaches_every_page_of_the_site_in_one_click() -> None:
    linked = {(ROOT / t).resolve() for t in links(README)}
    for page in nav_pages():
        source = DOCS / page
        if page.startswith("notebooks/"):  # generated from the notebook: the README links the notebook itself
            source = ROOT / "notebooks" / f"{Path(page).stem}.ipynb"
        elif not source.exists() and page.endswith("/index.md") and source.parent.is_dir():
            continue  # a folder's generated page (recipes/kubernetes/), linked from the page beside it
        assert source.exists(), f"mkdocs.yml: {page} is not in docs/ (nor generated)"
        assert source.resolve() in linked, f"README.md has no link to {source.relative_to(ROOT)}"


def test_every_page_of_docs_is_in_the_navigation() -> None:
    nav = set(nav_pages())
    for path in DOCS.rglob("*.md"):
        assert path.relative_to(DOCS).as_posix() in nav, f"{path.relative_to(ROOT)} is not in mkdocs.yml's nav"


# ---------------------------------------------------------------------------------------------------- the references


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_reference_is_on_a_page(reference: ModuleType) -> None:
    used = {m for path in pages() for m in reference.MARKER.findall(path.read_text(encoding="utf-8"))}
    assert used == set(reference.GENERATORS), used


def test_the_study_file_reference_has_every_key_and_bound(reference: ModuleType) -> None:
    from hpsearch.core.limits import LIMITS
    from hpsearch.search.strategies import STRATEGIES

    text = reference.study_file_reference()
    for table, keys in reference.study_file_keys().items():
        assert keys, table
        for key in keys:
            assert f"| `{key}` |" in text, f"{table}.{key}"
    for name in LIMITS:
        if not name.startswith("--"):
            assert f"| `{name}` |" in text, name
    for name in STRATEGIES:
        assert f"| `{name}` |" in text, name


def test_the_cli_reference_has_every_command_and_option(reference: ModuleType) -> None:
    from hpsearch.cli import build_parser
    from hpsearch.core.limits import LIMITS

    text = reference.cli_reference()
    for name, (sub, _) in reference._subcommands(build_parser()).items():
        assert f"## hpsearch {name}" in text
        for action in sub._actions:
            for option in [] if isinstance(action, argparse._HelpAction) else action.option_strings:
                assert f"`{option}" in text, f"hpsearch {name} {option}"
    for name in LIMITS:
        if name.startswith("--"):
            assert f"| `{name}` |" in text, name


def test_the_api_reference_has_every_public_name(reference: ModuleType) -> None:
    import hpsearch

    text = reference.api_reference()
    for name in hpsearch.__all__:
        assert re.search(rf"^::: [\w.]+\.{name}$", text, re.MULTILINE), name


def test_a_key_without_a_description_stops_the_build(reference: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(reference.KEY_DOCS, "budget.epochs")
    with pytest.raises(reference.ReferenceDrift, match="budget.epochs"):
        reference.study_file_reference()


def test_the_notebooks_render_as_pages(reference: ModuleType) -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = reference.notebook_page(path)
        assert page.startswith("# ") and "```python" in page, path.name
        assert f"notebooks/{path.stem}.md" in nav_pages()
