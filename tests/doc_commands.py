"""The docs' ```bash blocks read as bash reads them, for tests/test_readme_commands.py: which markdown
files are checked (``doc_files``), and each block's commands (``parse_block``) with the file and line
they come from."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def doc_files(root: Path = ROOT) -> list[Path]:
    """Every markdown file whose commands are checked: the front door, the READMEs behind it, docs/."""
    fixed = [root / "README.md", root / "config" / "README.md", root / "flower-app" / "README.md"]
    fixed.append(root / "bench" / "README.md")
    return [p for p in fixed if p.exists()] + sorted((root / "docs").rglob("*.md"))


DOCS = doc_files()


# --------------------------------------------------------------------------- parsing the docs
@dataclass
class Command:
    argv: list[str]
    line: int  # line of the logical line it is on, in its file
    env: dict[str, str] = field(default_factory=dict)  # NAME=value prefixes
    stdout: str | None = None  # `> FILE`
    stdin: str | None = None  # here-document body
    source: str = "README.md"  # the markdown file it is in, relative to the repository

    def __str__(self) -> str:
        return shlex.join(self.argv)


def bash_blocks(text: str, source: str = "README.md") -> list[tuple[int, str]]:
    """(line of the first command, body) of every fenced ```bash / ```sh / ```shell block."""
    blocks, body, start = [], None, 0
    for n, line in enumerate(text.splitlines(), 1):
        fence = line.strip()
        if body is None and re.fullmatch(r"```\s*(bash|sh|shell)\s*", fence):
            body, start = [], n + 1
        elif body is not None and fence.startswith("```"):
            blocks.append((start, "\n".join(body)))
            body = None
        elif body is not None:
            body.append(line)
    assert body is None, f"{source}: the ```bash block of line {start} is not closed"
    return blocks


def strip_comment(line: str) -> str:
    """The line without a `#` comment (a `#` that starts a word outside quotes, as bash reads it)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


def logical_lines(body: str, first_line: int, source: str = "README.md") -> list[tuple[int, str, list[str]]]:
    """(line, text, here-document bodies) per logical line: continuations joined, comments
    dropped, each `<<WORD` replaced by `<< HEREDOC{k}` and its body taken out."""
    lines, out, i = body.splitlines(), [], 0
    while i < len(lines):
        n, text = first_line + i, strip_comment(lines[i])
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + strip_comment(lines[i])
        docs: list[str] = []
        for m in list(HEREDOC.finditer(text)):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == m.group(2)), None)
            assert end is not None, f"{source} line {n}: here-document {m.group(2)} is not closed"
            docs.append("\n".join(lines[i + 1 : end]) + "\n")
            text = text.replace(m.group(0), f"<< HEREDOC{len(docs) - 1}", 1)
            i = end
        if text.strip():
            out.append((n, text, docs))
        i += 1
    return out


def split_commands(n: int, text: str, docs: list[str], source: str = "README.md") -> list[Command]:
    """Commands of one logical line, split at `&&` and `;`; redirections and env prefixes taken out."""
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = ""
    commands, words = [], []
    for tok in [*lex, ";"]:
        if tok not in ("&&", ";"):
            words.append(tok)
            continue
        if words and words[-1] == "&":  # run in the background: check the command itself
            words.pop()
        cmd = Command([], n, source=source)
        while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
            key, _, value = words.pop(0).partition("=")
            cmd.env[key] = value
        rest = iter(words)
        for w in rest:
            if w == ">":
                cmd.stdout = next(rest)
            elif w == "<<":
                cmd.stdin = docs[int(next(rest).removeprefix("HEREDOC"))]
            else:
                cmd.argv.append(w)
        if cmd.argv:
            commands.append(cmd)
        words = []
    return commands


def parse_block(first_line: int, body: str, source: str = "README.md") -> list[Command]:
    return [
        c
        for n, text, docs in logical_lines(body, first_line, source)
        for c in split_commands(n, text, docs, source)
    ]
