"""What the reporter tried, and whether it worked: the experiment that often decides a report.

"Setting NCCL_P2P_DISABLE=1 did workaround", "The training works after turning off the GPU P2P
communication", "Another fix is to reload ... nvidia_uvm", "A restart of all the containers
fixes the issue": a maintainer reads the cause from such a line (the P2P transport, the
kernel module, the container's device access) before any version. The changes and what each
points at are a cited table (envcheck/knowledge/remedies.py); this module finds them in a
paste and reads the outcome written with them:

- on the change's own line: "works", "fixed", "did the trick", "workaround", ... is a change
  that worked; "didn't work", "no luck", "still hangs", ... one that did not (it wins when
  both are there: "tried X, works on one GPU, didn't work on two");
- a suggestion ("can you try X?", "X might help") is no outcome: someone else's idea;
- a line with no outcome takes one from the next or previous non-empty line, but only an
  outcome that names a solution ("I found the solution", "that fixed it"): "it works on one
  GPU" next to an `export` says nothing about the export.

Only a change that worked becomes a finding (an error: the report's own experiment decides
the cause); one that did not is kept as read, for the record.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Literal

from envcheck.findings import Finding
from envcheck.knowledge.remedies import Remedy, remedies
from envcheck.knowledge.signatures import required_literals
from envcheck.reports.word_filters import lower_cased

Outcome = Literal["worked", "failed"]

_FAILED = re.compile(
    r"\b(?:did(?:n'?t|\s+not)|does(?:n'?t|\s+not)|do(?:n'?t|\s+not)|won'?t|can(?:'?t|not)|not|"
    r"never|neither|nor)\b[^.;]{0,30}?\b(?:work|help|fix|solve|change|effect|difference)"
    r"|\b(?:didnt|doesnt|dont)\b|\bno\s+(?:luck|effect|change|difference|help|improvement)\b"
    r"|\bstill\b[^.;]{0,30}?\b(?:hang|fail|crash|error|stuck|oom|out of memory|same)"
    r"|\bsame\s+(?:error|issue|problem)\b|\bwithout\s+(?:success|luck)\b",
    re.IGNORECASE)
_WORKED = re.compile(
    r"\b(?:works?|worked|(?:is|are|now|it's|its)\s+working|run(?:s|ning)?\s+(?:normally|fine|"
    r"well|ok)|did\s+the\s+trick|(?:did|as|is)\s+(?:a\s+)?workaround|fixe[sd]|"
    r"(?:is|are|now)\s+(?:training|learning|converging)\s+(?:normally|fine|well)|"
    r"(?:a|the|another|one)\s+fix\s+(?:is|was)|solved|solves|(?:the|a)\s+solution\s+(?:is|was)|"
    r"is\s+(?:a|the)\s+solution|resolved|resolves|helps|helped|disappear(?:s|ed)?|"
    r"went\s+away|goes\s+away|succeed(?:s|ed)|no\s+longer\s+(?:hangs?|fails?|crash(?:es)?)|"
    r"without\s+(?:any\s+)?(?:problems?|issues?|errors?)|complete[sd]?\s+(?:fine|successfully))\b",
    re.IGNORECASE)
_SOLUTION = re.compile(
    r"\b(?:found\s+(?:the|a)\s+(?:solution|fix|cause)|(?:the|a)\s+(?:solution|fix)\s+(?:is|was)|"
    r"solved|fixed\s+(?:it|the\s+(?:issue|problem))|did\s+the\s+trick|resolved)\b",
    re.IGNORECASE)
_SUGGESTION = re.compile(
    r"\?|\b(?:can|could|would)\s+you\b|\bplease\s+try\b|\b(?:might|may)\s+help\b|\bsuggest"
    # Hearsay is someone else's experiment, not this machine's: "I read in another thread
    # that NCCL_P2P_DISABLE=1 fixes hangs on some boards".
    r"|\bi\s+(?:read|heard|saw)\b|\banother\s+(?:thread|issue)\b|\bsomeone\b|\breportedly\b"
    r"|\bon\s+some\s+(?:boards|machines|systems|gpus|cards)\b|\bpeople\s+(?:say|report)",
    re.IGNORECASE)
# A standing configuration that works is not an experiment: "We always launch with
# NCCL_SOCKET_IFNAME=eth0 and training works", "Our standard run command, which works: ...".
_STANDING = re.compile(
    r"\b(?:always|usually|as\s+usual|our\s+(?:standard|usual|default|normal)|"
    r"standard\s+(?:run|launch|command|setup)|which\s+works|on\s+every\s+(?:node|machine|run))\b",
    re.IGNORECASE)
# "works" / "runs fine" say how things are; with no word of a change on the line ("after",
# "once", "setting", "now", ...) they describe a working setup, not what a change did.
_STATE_ONLY = re.compile(
    r"^(?:works?|(?:is|are|it's|its)\s+working|run(?:s|ning)?\s+(?:normally|fine|well|ok))$",
    re.IGNORECASE)
_CHANGE = re.compile(
    r"\b(?:after|once|when|then|now|since|if\s+i|(?:by\s+)?(?:setting|set|adding|added|"
    r"exporting|exported|disabling|disabled|turning|turned|changing|changed|increasing|"
    r"increased|lowering|lowered|reducing|reduced|passing|using|switching|switched|"
    r"reload(?:ing|ed)?|restart(?:ing|ed)?)|with(?:out)?\s+it|needs?|needed|so\s+far)\b",
    re.IGNORECASE)


# A sentence that ends by introducing what follows ("the issue was resolved by using the
# command", "the fix was:"): its outcome is the next line's.
_INTRODUCES = re.compile(r"(?::|\bby(?:\s+(?:using|running|installing))?(?:\s+the)?"
                         r"(?:\s+command)?|\busing(?:\s+the)?(?:\s+command)?)\s*$",
                         re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class RemedyTrial:
    """A change from the remedy table, as a report tells it."""

    remedy: Remedy
    outcome: Outcome | None
    """None: the change is named, its result is not (a script that exports it)."""
    line: int
    """1-based line of the change."""
    text: str


def read_remedies(lines: Sequence[str], text: str) -> tuple[RemedyTrial, ...]:
    """Every change of the remedy table on `lines` (a paste's cleaned lines), in order.
    `text` is the whole paste, for the remedies that need a context."""
    context: dict[str, bool] = {}
    # A long paste repeats its lines (a log pasted twice, a loop's output): search each
    # distinct line once per remedy.
    named: dict[tuple[str, str], bool] = {}
    found: list[RemedyTrial] = []
    lowered = lower_cased(text)  # for the remedies' words and the contexts' texts
    for index, remedy in _candidate_lines(lines, remedies(), text, lowered):
        line = lines[index]
        key = (remedy.id, line)
        if key not in named:
            named[key] = len(line) <= 2_000 and remedy.pattern.search(line) is not None
        if not named[key]:
            continue
        if remedy.context is not None:
            if remedy.id not in context:
                # Once per remedy: setdefault would search the whole paste on every line.
                context[remedy.id] = _holds(remedy.context, text, lowered)
            if not context[remedy.id]:
                continue
        found.append(RemedyTrial(remedy=remedy, outcome=_outcome(lines, index, remedy),
                                 line=index + 1, text=line.strip()[:200]))
    return tuple(found)


def _holds(pattern: re.Pattern[str], text: str, lowered: str) -> bool:
    """Does `pattern` (case-insensitive) occur in `text` (`lowered` in lower case)? A paste
    without one of the texts every match holds is answered without searching it (a 5 MB
    paste: a tenth of a second)."""
    literals = _required_literals(pattern.pattern)
    # The four letters a case-insensitive ASCII letter also matches that lower() does not
    # turn into that letter (Python's re documentation) make the test inexact.
    if literals is not None and not any(letter in text for letter in _FOLDED) and not any(
            literal in lowered for literal in literals):
        return False
    return pattern.search(text) is not None


_FOLDED = ("\u0130", "\u0131", "\u017f")  # dotted I, dotless i, long s (Kelvin lowers to k)


@cache
def _required_literals(pattern: str) -> tuple[str, ...] | None:
    return required_literals(pattern)


def _candidate_lines(lines: Sequence[str], table: Sequence[Remedy], text: str,
                     lowered: str) -> list[tuple[int, Remedy]]:
    """(line, remedy) pairs whose line holds one of the remedy's words: the paste is searched
    once per word (a 5 MB paste has ~100,000 lines; a regex each would take a second).
    `lines` are `text`'s lines cleaned (quote markers, fences and trailing space taken out):
    a word on a cleaned line is on the paste's line, so the paste (`lowered`, already made
    for the contexts) is searched, and the remedy's pattern then reads the cleaned line."""
    if len(lowered) == len(text) and text.count("\n") == len(lines) - 1:
        return _candidates_in(lowered, table)
    written = "\n".join(lines)
    joined = written.lower()
    if len(joined) != len(written):
        # lower() changed the length (a few non-ASCII letters do): look line by line.
        return [(index, remedy) for index, line in enumerate(lines) for remedy in table
                if any(word in line.lower() for word in remedy.words)]
    starts = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    pairs: dict[tuple[int, str], tuple[int, Remedy]] = {}
    order = {remedy.id: position for position, remedy in enumerate(table)}
    for remedy in table:
        for word in remedy.words:
            position = joined.find(word)
            while position != -1:
                index = bisect_right(starts, position) - 1
                pairs.setdefault((index, remedy.id), (index, remedy))
                position = joined.find(word, starts[index + 1] if index + 1 < len(starts)
                                       else len(joined))
    return sorted(pairs.values(), key=lambda pair: (pair[0], order[pair[1].id]))


def _candidates_in(lowered: str, table: Sequence[Remedy]) -> list[tuple[int, Remedy]]:
    """_candidate_lines' pairs, the line of each hit counted from the line breaks before it."""
    hits: list[tuple[int, int, Remedy]] = []
    for order, remedy in enumerate(table):
        for word in remedy.words:
            position = lowered.find(word)
            while position != -1:
                hits.append((position, order, remedy))
                following = lowered.find("\n", position)
                position = -1 if following == -1 else lowered.find(word, following + 1)
    pairs: dict[tuple[int, str], tuple[int, int, Remedy]] = {}
    line, counted = 0, 0
    for position, order, remedy in sorted(hits, key=lambda hit: hit[0]):
        line += lowered.count("\n", counted, position)
        counted = position
        pairs.setdefault((line, remedy.id), (line, order, remedy))
    return [(line, remedy) for line, _, remedy in sorted(pairs.values(),
                                                          key=lambda pair: pair[:2])]


def _outcome(lines: Sequence[str], index: int, remedy: Remedy) -> Outcome | None:
    own = _said(lines[index])
    if own is not None or _SUGGESTION.search(lines[index]):
        return own
    before, after = _nearest(lines, index, -1), _nearest(lines, index, 1)
    if after is not None and _contrast(lines[index], after, remedy):
        return "worked"
    if after is not None and _INTRODUCES.search(after):
        after = None  # "... was resolved by using the command" speaks of the line after it
    for neighbour in (before, after):
        if neighbour is not None and _SOLUTION.search(neighbour) and not (
                _FAILED.search(neighbour) or _SUGGESTION.search(neighbour)):
            return "worked"
    return None


def _contrast(line: str, following: str, remedy: Remedy) -> bool:
    """The two-line experiment: "with 0.90 the command runs normally. / But if I set it to
    1.0 ..., OOM occurs": the same setting, one value works and the next line's fails."""
    return (_WORKED.search(line) is not None and not _STANDING.search(line)
            and _BUT.match(following) is not None and _BREAKS.search(following) is not None
            and any(word in following.lower() for word in remedy.words))


_BUT = re.compile(r"\s*(?:but|however|whereas)\b", re.IGNORECASE)
_BREAKS = re.compile(r"\b(?:OOM|out of memory|fails?|failed|crash(?:es|ed)?|hangs?|error)\b",
                     re.IGNORECASE)


def _said(line: str) -> Outcome | None:
    if _SUGGESTION.search(line) or _STANDING.search(line):
        return None
    if _FAILED.search(line):
        return "failed"
    worked = [m.group(0) for m in _WORKED.finditer(line)]
    if not worked:
        return None
    if all(_STATE_ONLY.match(word) for word in worked) and not _CHANGE.search(line):
        return None
    return "worked"


def _nearest(lines: Sequence[str], index: int, step: int) -> str | None:
    position = index + step
    while 0 <= position < len(lines):
        if lines[position].strip():
            return lines[position]
        position += step
    return None


def remedy_findings(trials: Sequence[RemedyTrial],
                    error_categories: frozenset[str] | None = None) -> list[Finding]:
    """One error per remedy the report says worked: its own experiment decides the cause.

    `error_categories`: the causes the error being judged points at (its signatures), None
    when no error is judged. A change that worked for another cause than the error the user
    sees now (--ipc=host fixed the DataLoader last week, the error today is a KeyError) is an
    earlier problem, solved: a note, not an error that blocks the run."""
    findings: dict[str, Finding] = {}
    for trial in trials:
        remedy = trial.remedy
        if trial.outcome != "worked" or remedy.id in findings:
            continue
        current = error_categories is None or remedy.category in error_categories
        findings[remedy.id] = Finding(
            id=f"remedy-{remedy.id}", category=remedy.category,
            severity="error" if current else "info",
            summary=f"{remedy.summary} (the report, line {trial.line}: {trial.text[:120]})"
                    + ("" if current else "; the error judged now points elsewhere"),
            explanation=remedy.explanation, fix=remedy.fix,
            evidence={"line": str(trial.line), "text": trial.text, "source": remedy.source},
            rule="report-remedy")
    return list(findings.values())
