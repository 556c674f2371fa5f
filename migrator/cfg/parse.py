"""Read and write harbor.cfg without losing the user's comments or layout.

harbor.cfg is read by Harbor's ``prepare`` with Python's ConfigParser after a
``[configuration]`` header is prepended: ``key = value`` (or ``key: value``)
lines, ``#``/``;`` comment lines, blank lines; keys are case-insensitive and
values are stripped. We accept exactly the subset on which Python 2's and
Python 3's parsers agree (1.5.2's ``prepare`` runs under either) and refuse
the rest with the line number, instead of guessing what Harbor saw:
continuation lines, section headers and duplicate keys.

Each entry keeps its raw line and the comment/blank lines above it
("leading"), so ``render(parse(text)) == text`` for any accepted file.
"""
from __future__ import annotations

import dataclasses
import re

from ..errors import ConfigInvalid

# ConfigParser's option pattern: the key ends at the first '=' or ':'.
_OPTION = re.compile(r"^(?P<key>[^:=\s][^:=]*?)\s*(?P<sep>[:=])\s*(?P<value>.*?)\s*$")


def is_comment(line: str) -> bool:
    return line.startswith(("#", ";"))


def is_blank(line: str) -> bool:
    return not line.strip()


@dataclasses.dataclass
class Entry:
    """One ``key = value`` line and the comment/blank lines directly above it."""

    key: str                      # lower-cased, as ConfigParser reports it
    value: str                    # stripped, as ConfigParser reports it
    lineno: int                   # 1-based line of the key in the source
    raw: str = ""                 # the line as written (without newline)
    leading: list[str] = dataclasses.field(default_factory=list)

    @property
    def comments(self) -> list[str]:
        return [ln for ln in self.leading if is_comment(ln)]

    def line(self) -> str:
        """The line to write: the original while the value is unchanged."""
        original = _OPTION.match(self.raw) if self.raw else None
        if original and original.group("value") == self.value and original.group("key").lower() == self.key:
            return self.raw
        return format_line(self.key, self.value)


def format_line(key: str, value: str) -> str:
    return f"{key} = {value}" if value != "" else f"{key} ="


@dataclasses.dataclass
class CfgDocument:
    """A parsed harbor.cfg: header comments, entries in file order, trailing lines."""

    header: list[str] = dataclasses.field(default_factory=list)   # file-level comment block
    entries: list[Entry] = dataclasses.field(default_factory=list)
    trailer: list[str] = dataclasses.field(default_factory=list)  # lines after the last key
    final_newline: bool = True

    def get(self, key: str, default: str | None = None) -> str | None:
        entry = self.entry(key)
        return entry.value if entry else default

    def entry(self, key: str) -> Entry | None:
        key = key.lower()
        for e in self.entries:
            if e.key == key:
                return e
        return None

    def __contains__(self, key: str) -> bool:
        return self.entry(key) is not None

    def keys(self) -> list[str]:
        return [e.key for e in self.entries]

    def as_dict(self) -> dict[str, str]:
        return {e.key: e.value for e in self.entries}


def parse(text: str, *, source: str = "harbor.cfg") -> CfgDocument:
    """Parse harbor.cfg text; ConfigInvalid (with the line number) for what Harbor
    would read differently or not at all. Values are never put in messages."""
    lines = text.splitlines()
    doc = CfgDocument(final_newline=text.endswith(("\n", "\r")) or not text)
    pending: list[str] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if is_blank(line):
            pending.append(line)
            continue
        if line[:1].isspace():
            # Python 2's ConfigParser joins any indented line, even '  # note', to the
            # value of the last key, however far above it is.
            raise ConfigInvalid(
                f"{source} line {lineno}: indented line — ConfigParser may join it to a value above "
                "(a continuation line); harbor.cfg lines must start in the first column: remove the indentation")
        if is_comment(line):
            pending.append(line)
            continue
        if line.lstrip().startswith("["):
            raise ConfigInvalid(
                f"{source} line {lineno}: section header — Harbor's prepare adds its own "
                "[configuration] section, and keys under another section are not read; remove the line")
        match = _OPTION.match(line)
        if not match:
            raise ConfigInvalid(f"{source} line {lineno}: not a 'key = value' line")
        key = match.group("key").lower()
        if key in seen:
            raise ConfigInvalid(
                f"{source} line {lineno}: {key} is set again (first on line {seen[key]}); "
                "Python 3's ConfigParser refuses duplicates and Python 2's keeps the last one: "
                "keep one of them")
        seen[key] = lineno
        doc.entries.append(Entry(key, match.group("value"), lineno, line, pending))
        pending = []
    doc.trailer = pending
    if doc.entries:
        doc.header, doc.entries[0].leading = split_header(doc.entries[0].leading)
    return doc


def split_header(leading: list[str]) -> tuple[list[str], list[str]]:
    """The file's opening comment block (up to the first blank line) is a header,
    not the first key's comment: it stays at the top when keys are reordered."""
    if not leading or not is_comment(leading[0]):
        return [], leading
    for i, line in enumerate(leading):
        if is_blank(line):
            return leading[:i], leading[i:]
    return [], leading


def render(doc: CfgDocument) -> str:
    """Write a document back; unchanged entries keep their original line."""
    out = list(doc.header)
    for entry in doc.entries:
        out.extend(entry.leading)
        out.append(entry.line())
    out.extend(doc.trailer)
    text = "\n".join(out)
    return text + "\n" if doc.final_newline and out else text


def semicolon_comment(value: str) -> bool:
    """Python 2's ConfigParser cuts a value at ' ;' (an inline comment); Python 3's does not."""
    return bool(re.search(r"\s;", value))
