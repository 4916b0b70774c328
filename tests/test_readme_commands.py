"""Every command in a fenced ```bash block of the docs, checked as a user would type it: README.md,
config/README.md, flower-app/README.md, bench/README.md and every docs/**/*.md (DOCS below).

Each block is read as bash reads it (``\\`` continuations, ``&&`` / ``;`` chains, ``#`` comments,
``NAME=value`` prefixes, ``cat > FILE <<'EOF'`` here-documents, a trailing ``&``), and every command
in it is checked from one clean copy of the repository (its git-tracked and untracked, not ignored,
files) by the first row of CHECKS whose prefix it starts with:

- ``snakemake ...``: a dry run (``-n`` added), or ``--help`` / ``--lint`` / ``--report`` run as written
  (a report of a fresh copy may only fail for want of the run's results). ``config/paper.yaml``'s data
  folders and weights files exist in the copy as empty stand-ins, so the paper-scale commands plan;
- ``pip install``: the extras named exist in pyproject.toml and every package named is declared there
  (not run: CI installs the same);
- ``python -m pytest ...``: its options parsed and test paths checked, stopping before collection;
  ``python SCRIPT`` / ``python -m MODULE`` and the
  package's own console scripts (pyproject.toml's ``[project.scripts]``, e.g. ``ppfer``): ``--help``
  of the command, then, for an argparse program, its exact arguments parsed (stopped right after
  parsing, so nothing runs) so that a renamed flag or path fails;
- third-party tools (Flower's ``flwr``, ``flower-superlink``, ...): ``--help`` of the subcommand;
- ``cat > FILE <<EOF``: the file is written, for the commands after it in the block.

A command no row matches fails the test: add a row to CHECKS (prefix -> check function). Commands
that need a cluster or real data are in SKIPPED with the reason (what they wrap is still checked).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import tomllib
import yaml
from doc_commands import DOCS, Command, bash_blocks, doc_files, parse_block

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300


# --------------------------------------------------------------------------- the copy it runs in
class Tree:
    """A clean copy of the repository, with what the commands of one block wrote to it."""

    def __init__(self, path: Path):
        self.path = path
        self.written: dict[str, str] = {}
        self.cache: dict[tuple, subprocess.CompletedProcess] = {}
        self.skipped: dict[str, str] = {}  # command -> why it was not run
        self.pyproject = tomllib.loads((path / "pyproject.toml").read_text())

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run in the copy, importing its ppfer_core; identical commands (same written files) run once."""
        key = (tuple(argv), tuple(sorted(self.written.items())), tuple(sorted((env or {}).items())))
        if key not in self.cache:
            full_env = {
                **os.environ,
                **(env or {}),
                "PYTHONPATH": os.pathsep.join(
                    [str(self.path), *filter(None, [os.environ.get("PYTHONPATH")])]
                ),
            }
            self.cache[key] = subprocess.run(
                argv,
                check=False,
                cwd=self.path,
                env=full_env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        return self.cache[key]

    def file(self, rel: str, what: str, cmd: Command) -> Path:
        path = self.path / rel
        assert path.exists(), (
            f"{cmd.source} line {cmd.line}: `{cmd}` names {what} {rel}, which does not exist"
        )
        return path


def copy_repository(dest: Path) -> None:
    """The repository's files (tracked, and untracked but not ignored) into dest, nothing generated."""
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split("\0")
        )
        files = [f for f in listed if f and (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        ignore = shutil.ignore_patterns(
            ".git", ".snakemake", "results", "logs", "benchmarks", "__pycache__", "data"
        )
        shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)
        return
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)


def fake_paper_data(tree: Path) -> None:
    """Empty stand-ins for what config/paper.yaml reads (a dry run looks no further than the paths)."""
    cfg = yaml.safe_load((tree / "config" / "paper.yaml").read_text())
    for key in ("cremad_root", "dfew_root"):
        (tree / cfg["data"][key]).mkdir(parents=True, exist_ok=True)
    for model in cfg["models"].values():
        if isinstance(model, dict) and model.get("weights"):
            (tree / model["weights"]).parent.mkdir(parents=True, exist_ok=True)
            (tree / model["weights"]).write_bytes(b"")


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Tree:
    path = tmp_path_factory.mktemp("readme") / "repo"
    path.mkdir()
    copy_repository(path)
    fake_paper_data(path)
    return Tree(path)


# --------------------------------------------------------------------------- checks per command kind
def expect_ok(res: subprocess.CompletedProcess, cmd: Command, what: str) -> None:
    assert res.returncode == 0, (
        f"{cmd.source} line {cmd.line}: `{cmd}` fails ({what}, exit {res.returncode}):\n"
        f"{res.stdout[-2500:]}\n{res.stderr[-2500:]}"
    )


def is_dry_run(args: list[str]) -> bool:
    return any(a in ("--dry-run", "--dryrun") or re.fullmatch(r"-[a-zA-Z]*n[a-zA-Z]*", a) for a in args)


def option_values(args: list[str], name: str) -> list[str]:
    values = [a.split("=", 1)[1] for a in args if a.startswith(name + "=")]
    return values + [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]


def check_snakemake(cmd: Command, tree: Tree) -> None:
    args = cmd.argv[1:]
    for profile in option_values(args, "--profile"):
        settings = yaml.safe_load((tree.file(profile, "the profile", cmd) / "config.yaml").read_text()) or {}
        executor = settings.get("executor", "local")
        if executor not in ("local", "dryrun", "touch") and not importlib.util.find_spec(
            f"snakemake_executor_plugin_{executor}"
        ):
            pytest.skip(
                f'`{cmd}`: snakemake-executor-plugin-{executor} is not installed (pip install -e ".[{executor}]")'
            )
    snakemake = [sys.executable, "-m", "snakemake"]
    if {"--help", "-h", "--version", "-v", "--lint"} & set(args):
        expect_ok(tree.run([*snakemake, *args], cmd.env), cmd, "run as written")
    elif "--report" in args:  # a fresh copy has no results to report: Snakemake says so, naming the file
        res = tree.run([*snakemake, *args], cmd.env)
        if res.returncode != 0 and not re.search(
            r"marked for report but does not exist", res.stdout + res.stderr
        ):
            expect_ok(res, cmd, "run as written in a fresh copy")
    else:
        expect_ok(
            tree.run([*snakemake, *args, *([] if is_dry_run(args) else ["-n"])], cmd.env), cmd, "dry run"
        )


def check_pip_install(cmd: Command, tree: Tree) -> None:
    """`pip install [-e] .[extras]` / `pip install NAME`: the extras exist, the packages are declared."""
    args = cmd.argv[cmd.argv.index("install") + 1 :]
    project = tree.pyproject["project"]
    extras = project.get("optional-dependencies", {})
    declared = {
        re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0].lower().replace("_", "-")
        for d in [*project.get("dependencies", []), *(d for ds in extras.values() for d in ds)]
    }
    for i, arg in enumerate(args):
        if arg in ("-r", "--requirement"):
            tree.file(args[i + 1], "the requirements file", cmd)
        elif arg.startswith("-") or (i and args[i - 1] in ("-r", "--requirement")):
            continue
        elif m := re.fullmatch(r"(\.[^\[]*)(?:\[(.*)\])?", arg):
            assert (tree.file(m.group(1), "the folder", cmd) / "pyproject.toml").exists()
            missing = {e.strip() for e in (m.group(2) or "").split(",") if e.strip()} - set(extras)
            assert not missing, (
                f"{cmd.source} line {cmd.line}: `{cmd}` names extras {sorted(missing)} that pyproject.toml lacks"
            )
        else:
            name = re.split(r"[<>=!~\[]", arg, maxsplit=1)[0].lower().replace("_", "-")
            assert name in declared, (
                f"{cmd.source} line {cmd.line}: `{cmd}` installs {name}, which pyproject.toml "
                "does not declare (CI installs only from the repo's files)"
            )


# pytest with its arguments parsed (options, plugins, ini) and its test paths checked, stopping before
# collection (importing every test module takes ~20 s; CI runs the suite itself anyway).
PYTEST_HOOK = r"""
import pathlib, sys, pytest
class StopBeforeCollecting:
    missing = []
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session):
        for arg in session.config.args:
            if not pathlib.Path(session.config.invocation_params.dir, arg.split("::")[0]).exists():
                self.missing.append(arg)
        return True
plugin = StopBeforeCollecting()
code = pytest.main(sys.argv[1:], plugins=[plugin])
if plugin.missing:
    sys.exit(f"no such test path: {plugin.missing}")
sys.exit(0 if code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) else int(code))
"""


def check_pytest(cmd: Command, tree: Tree) -> None:
    args = cmd.argv[cmd.argv.index("pytest") + 1 :]
    res = tree.run([sys.executable, "-c", PYTEST_HOOK, *args, "-p", "no:cacheprovider"], cmd.env)
    expect_ok(res, cmd, "pytest's arguments and test paths")


# Runs a Python program with argparse stopped right after it parsed its arguments (exit 0), so that
# the exact arguments of a README command are checked without running it.
ARGPARSE_HOOK = r"""
import argparse, importlib, runpy, sys
kind, target, *args = sys.argv[1:]
depth = 0
def stop_after(parse):
    def wrapped(self, *a, **k):
        global depth
        sys.stderr.write("README-CHECK: argparse\n")
        depth += 1
        try:
            result = parse(self, *a, **k)
        finally:
            depth -= 1
        if depth == 0:
            sys.stderr.write(f"README-CHECK: parsed {result}\n")
            sys.exit(0)
        return result
    return wrapped
for name in ("parse_args", "parse_known_args"):
    setattr(argparse.ArgumentParser, name, stop_after(getattr(argparse.ArgumentParser, name)))
sys.argv = [target, *args]
if kind == "path":
    runpy.run_path(target, run_name="__main__")
elif kind == "module":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    module, _, func = target.partition(":")
    obj = importlib.import_module(module)
    for part in func.split("."):
        obj = getattr(obj, part)
    sys.exit(obj())
"""


def check_python_program(cmd: Command, tree: Tree, kind: str, target: str, args: list[str]) -> None:
    """`--help` of the program (and of its leading subcommand words); an argparse program's exact
    arguments are then parsed, stopping before it runs."""
    hook = [sys.executable, "-c", ARGPARSE_HOOK, kind, target]
    words = [a for a in args[: next((i for i, a in enumerate(args) if a.startswith("-")), len(args))]]
    helped = tree.run([*hook, *words, "--help"], cmd.env)
    expect_ok(helped, cmd, "--help")
    if "README-CHECK: argparse" in helped.stderr and not {"-h", "--help"} & set(args):
        parsed = tree.run([*hook, *args], cmd.env)
        expect_ok(parsed, cmd, "its arguments parsed")
        assert "README-CHECK: parsed" in parsed.stderr, (
            f"{cmd.source} line {cmd.line}: `{cmd}` did not stop after parsing"
        )


def check_python(cmd: Command, tree: Tree) -> None:
    """`python SCRIPT ARGS` or `python -m MODULE ARGS`."""
    args = cmd.argv[1:]
    if args[:1] == ["-m"]:
        check_python_program(cmd, tree, "module", args[1], args[2:])
    else:
        assert args and not args[0].startswith("-"), f"{cmd.source} line {cmd.line}: no check for `{cmd}`"
        tree.file(args[0], "the script", cmd)
        check_python_program(cmd, tree, "path", args[0], args[1:])


def check_console_script(cmd: Command, tree: Tree) -> None:
    """One of the package's console scripts (pyproject.toml [project.scripts]), from the copy's code."""
    target = tree.pyproject["project"]["scripts"][cmd.argv[0]]
    check_python_program(cmd, tree, "entry", target, cmd.argv[1:])


def check_tool_help(cmd: Command, tree: Tree) -> None:
    """A third-party tool: `--help` of its subcommand (the words before the first option)."""
    exe = shutil.which(cmd.argv[0])
    if exe is None:
        pytest.skip(f"`{cmd}`: {cmd.argv[0]} is not installed here")
    words = cmd.argv[1 : next((i for i, a in enumerate(cmd.argv) if a.startswith("-")), len(cmd.argv))]
    expect_ok(tree.run([exe, *words, "--help"], cmd.env), cmd, "--help of the subcommand")


def check_write_file(cmd: Command, tree: Tree) -> None:
    """`cat > FILE <<'EOF'`: write the here-document for the commands after it."""
    assert cmd.argv == ["cat"] and cmd.stdout and cmd.stdin is not None, (
        f"{cmd.source} line {cmd.line}: no check for `{cmd}`"
    )
    (tree.path / cmd.stdout).parent.mkdir(parents=True, exist_ok=True)
    (tree.path / cmd.stdout).write_text(cmd.stdin)
    tree.written[cmd.stdout] = cmd.stdin


def check_wrapper(reason: str) -> Callable[[Command, Tree], None]:
    """`SCRIPT ... -- COMMAND`: the script exists and COMMAND is checked; the script itself is not run."""

    def check(cmd: Command, tree: Tree) -> None:
        tree.file(cmd.argv[1], "the script", cmd)
        if "--" in cmd.argv:
            inner = Command(cmd.argv[cmd.argv.index("--") + 1 :], cmd.line, cmd.env, source=cmd.source)
            check_command(inner, tree)
        tree.skipped[str(cmd)] = reason

    return check


# Commands that need a cluster or real data: not run (the command they wrap is), with the reason.
SKIPPED = {
    ("bash", ".ci/slurm_cluster.sh"): "starts a throw-away SLURM cluster as root (CI's .ci/run does; "
    "tests/test_slurm_cluster.py skips without one)",
}

# Command prefix -> check. The longest matching prefix wins; a command none matches fails the test.
CHECKS: dict[tuple[str, ...], Callable[[Command, Tree], None]] = {
    ("snakemake",): check_snakemake,
    ("pip", "install"): check_pip_install,
    ("python", "-m", "pip", "install"): check_pip_install,
    ("python", "-m", "pytest"): check_pytest,
    ("python",): check_python,
    ("cat",): check_write_file,
    ("flwr",): check_tool_help,
    ("flower-superlink",): check_tool_help,
    ("flower-supernode",): check_tool_help,
    ("flower-simulation",): check_tool_help,
    **{prefix: check_wrapper(reason) for prefix, reason in SKIPPED.items()},
}


def check_command(cmd: Command, tree: Tree) -> None:
    if any(re.fullmatch(r"[();<>|&]+", a) for a in cmd.argv):
        pytest.fail(
            f"{cmd.source} line {cmd.line}: `{cmd}` uses shell syntax the checker does not read (only "
            "&&, ;, > FILE, <<EOF and a trailing &): extend split_commands in tests/test_readme_commands.py"
        )
    argv = ["python" if cmd.argv[0] == "python3" else cmd.argv[0], *cmd.argv[1:]]
    checks = {
        **CHECKS,
        **{(name,): check_console_script for name in tree.pyproject["project"].get("scripts", {})},
    }
    prefix = max((p for p in checks if tuple(argv[: len(p)]) == p), key=len, default=None)
    if prefix is None:
        pytest.fail(
            f"{cmd.source} line {cmd.line}: no check for `{cmd}`: add its kind to CHECKS (or SKIPPED, "
            "with the reason) in tests/test_readme_commands.py"
        )
    checks[prefix](Command(argv, cmd.line, cmd.env, cmd.stdout, cmd.stdin, cmd.source), tree)


BLOCKS = [
    (doc.relative_to(ROOT).as_posix(), n, body)
    for doc in DOCS
    for n, body in bash_blocks(doc.read_text(), doc.relative_to(ROOT).as_posix())
]


@pytest.mark.parametrize("source,first_line,body", BLOCKS, ids=[f"{s}:{n}" for s, n, _ in BLOCKS])
def test_readme_command_works_as_written(source, first_line, body, tree):
    commands = parse_block(first_line, body, source)
    assert commands, f"{source} line {first_line}: a ```bash block without a command"
    try:
        for cmd in commands:
            check_command(cmd, tree)
    finally:
        for rel in tree.written:
            (tree.path / rel).unlink(missing_ok=True)
        tree.written.clear()
    skipped = {c: tree.skipped.pop(c) for c in list(tree.skipped)}
    for c, reason in skipped.items():
        print(f"not run: `{c}`: {reason}")
    if all(str(c) in skipped for c in commands):
        pytest.skip("; ".join(f"`{c}` not run: {reason}" for c, reason in skipped.items()))


def test_blocks_are_read_as_bash_reads_them():
    body = (
        "# a comment && not a command\n"
        'pip install -e ".[test]" && CUDA_VISIBLE_DEVICES=0 snakemake --cores 1 \\\n'
        "   --config 'ingest={crop: none}' a#b  # trailing comment\n"
        "cat > my.yaml <<'EOF'\n"
        "ingest:  # kept: inside the here-document\n"
        "  frames: 4\n"
        "EOF\n"
        "flower-superlink --insecure &\n"
    )
    cmds = parse_block(10, body)
    assert [c.argv for c in cmds] == [
        ["pip", "install", "-e", ".[test]"],
        ["snakemake", "--cores", "1", "--config", "ingest={crop: none}", "a#b"],
        ["cat"],
        ["flower-superlink", "--insecure"],
    ]
    assert cmds[1].env == {"CUDA_VISIBLE_DEVICES": "0"} and cmds[1].line == 11
    assert (
        cmds[2].stdout == "my.yaml"
        and cmds[2].stdin == "ingest:  # kept: inside the here-document\n  frames: 4\n"
    )
    assert cmds[3].line == 17


def test_a_command_of_unknown_kind_or_unread_shell_syntax_fails(tree):
    with pytest.raises(pytest.fail.Exception, match="no check for `curl"):
        check_command(Command(["curl", "-O", "https://example.org/x"], 1), tree)
    with pytest.raises(pytest.fail.Exception, match="shell syntax"):
        check_command(parse_block(1, "snakemake -n 2>&1 | tee log")[0], tree)


def test_pip_install_lines_are_checked_against_pyproject(tree):
    check_command(Command(["pip", "install", "-e", ".[test,slurm]", "numpy"], 1), tree)
    with pytest.raises(AssertionError, match=r"extras \['nope'\]"):
        check_command(Command(["pip", "install", "-e", ".[test,nope]"], 1), tree)
    with pytest.raises(AssertionError, match="does not declare"):
        check_command(Command(["pip", "install", "left-pad"], 1), tree)


def test_console_scripts_are_checked_by_their_own_argument_parser(tree, monkeypatch):
    """A [project.scripts] entry (as `ppfer = "ppfer_core.cli:main"` would be) is checked from the copy's code."""
    monkeypatch.setitem(tree.pyproject["project"], "scripts", {"dag-time": "bench.dag_time:main"})
    check_command(Command(["dag-time", "--config", "tiny", "--cores", "1"], 1), tree)
    with pytest.raises(AssertionError, match="its arguments parsed"):
        check_command(Command(["dag-time", "--cores", "two"], 1), tree)


def test_every_doc_behind_the_readme_is_read(tmp_path):
    names = {p.relative_to(ROOT).as_posix() for p in DOCS}
    assert {"README.md", "config/README.md", "docs/running.md", "docs/design.md"} <= names
    assert {"flower-app/README.md", "bench/README.md"} <= names
    assert any(source == "config/README.md" for source, _, _ in BLOCKS)
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "docs" / "deep" / "new.md").write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in doc_files(tmp_path)] == [
        "README.md",
        "docs/deep/new.md",
    ]


def test_a_failure_names_the_doc_and_line_it_comes_from(tree):
    cmd = parse_block(7, "curl -O https://example.org/x", "docs/running.md")[0]
    with pytest.raises(pytest.fail.Exception, match="docs/running.md line 7: no check for `curl"):
        check_command(cmd, tree)
    with pytest.raises(AssertionError, match="docs/design.md: the ```bash block of line 2 is not closed"):
        bash_blocks("```bash\nsnakemake -n\n", "docs/design.md")
