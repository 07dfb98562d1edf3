"""Documentation is tested against the code: every command and option is in docs/cli.md, every Locust
option swarmgate adds is in docs/, every SLA key (and scenario and weekly.toml key) is in
docs/configuration.md, the README starts a newcomer off and links every page, and no Markdown file
links to a relative path that does not exist. Each check is also shown to fail on a gap."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest

from swarmgate.analysis.sla import AT_LEAST, AT_MOST, DRIFT_METRICS, JOURNEY_METRICS, TOP_KEYS, Rules, load_sla
from swarmgate.cli import cli
from swarmgate.scenarios import SHAPE_KEYS
from swarmgate.scenarios import TOP_KEYS as SCENARIO_KEYS
from swarmgate.weekly import KEYS as WEEKLY_KEYS
from swarmgate.weekly import RETENTION_KEYS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
LOCUST_OPTION_MODULES = ("locustfiles/recorders.py", "shapes/options.py")
SKIPPED_DIRS = {".git", ".venv", "node_modules", "build", "dist", "results", "test-artifacts", "__pycache__"}


# --- helpers (each has a test below showing it reports a gap) ---------------------------------------------------


def mentions_flag(flag: str, text: str) -> bool:
    """`--master` must appear on its own, not only as the start of `--master-port`."""
    return re.search(re.escape(flag) + r"(?![A-Za-z0-9-])", text) is not None


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """Every command by its path ('' for the group itself, 'run', 'baseline promote', ...), groups walked."""
    found: dict[str, click.Command] = {" ".join(path): group}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands(command, (*path, name)))
        else:
            found[" ".join((*path, name))] = command
    return found


def long_flags(command: click.Command) -> list[str]:
    return sorted({flag for param in command.params for flag in (*param.opts, *param.secondary_opts)
                   if flag.startswith("--") and flag != "--help"})  # fmt: skip


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, title, offset) of every Markdown heading outside fenced code."""
    found, fenced, offset = [], False, 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#{1,6})\s+(.*?)\s*$", line)):
            found.append((len(match.group(1)), match.group(2), offset))
        offset += len(line)
    return found


def section(text: str, path: str) -> str | None:
    """The part of a page under the heading that starts with `swarmgate PATH`, up to the next heading of its level."""
    title = f"`swarmgate{' ' + path if path else ''}`"
    marks = headings(text)
    for index, (level, heading, start) in enumerate(marks):
        if heading.startswith(title):
            end = next((o for lv, _, o in marks[index + 1 :] if lv <= level), len(text))
            return text[start:end]
    return None


def undocumented_options(path: str, command: click.Command, text: str) -> list[str]:
    body = section(text, path)
    if body is None:
        return [f"no section `swarmgate{' ' + path if path else ''}`"]
    return [flag for flag in long_flags(command) if not mentions_flag(flag, body)]


def documented_flags(body: str) -> set[str]:
    """Flags named in the first cell of a section's table rows (what the page claims the command takes)."""
    cells = (row.split("|")[1] for row in body.splitlines() if row.startswith("| `-"))
    return {flag for cell in cells for flag in re.findall(r"(--[a-z0-9-]+)", cell)}


def locust_options(module: str) -> list[str]:
    source = (ROOT / module).read_text(encoding="utf-8")
    return re.findall(r'add_argument\(\s*"(--[a-z0-9-]+)"', source)


def as_key(key: str, text: str) -> bool:
    """The key written as code: `key`, a TOML table header [key] / [key.x] / [[key]], or `key = ...` in a block."""
    k = re.escape(key)
    return re.search(rf"`{k}`|`?\[\[?{k}(\]|\.)|^\s*{k}\s*=", text, re.MULTILINE) is not None


def markdown_files() -> list[Path]:
    """Every .md file of the repository, not descending into environments, caches or build output."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".") and not d.endswith(".egg-info")]
        found += [Path(folder) / name for name in files if name.endswith(".md")]
    return sorted(found)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*|\[|\]\([^)]*\)", "", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, heading, _ in headings(text):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def links(text: str) -> list[str]:
    """Targets of inline and reference links, outside fenced code and inline code."""
    text = re.sub(r"^\s*```.*?^\s*```", "", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    inline = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    reference = re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$", text, flags=re.MULTILINE)
    return inline + reference


def broken_links(page: Path, text: str) -> list[str]:
    broken = []
    for target in links(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if file_part.startswith("/") or not resolved.exists():
            broken.append(target)
        elif fragment and resolved.suffix == ".md":
            if fragment not in anchors(resolved.read_text(encoding="utf-8") if resolved != page else text):
                broken.append(target)
    return broken


# --- the command line: docs/cli.md ---------------------------------------------------------------------------------

COMMANDS = commands()


def test_commands_are_walked_recursively():
    assert {"", "run", "web", "weekly", "analyze", "report", "trend", "baseline", "baseline promote",
            "demo"} <= set(COMMANDS)  # fmt: skip
    assert "--debug" in long_flags(COMMANDS[""]) and "--version" in long_flags(COMMANDS[""])
    assert "--replace" in long_flags(COMMANDS["baseline promote"])


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: p or "swarmgate")
def test_every_command_and_option_is_in_cli_md(path):
    assert not undocumented_options(path, COMMANDS[path], CLI_DOC), f"swarmgate {path}: not documented in docs/cli.md"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: p or "swarmgate")
def test_cli_md_documents_no_option_a_command_lacks(path):
    """Options in a command's tables must exist (a removed or renamed option leaves no stale row)."""
    body = section(CLI_DOC, path) or ""
    stale = documented_flags(body) - {*long_flags(COMMANDS[path]), "--help"}
    assert not stale, f"swarmgate {path}: docs/cli.md lists {sorted(stale)}, which the command does not take"


def test_cli_md_has_no_section_for_a_command_that_does_not_exist():
    documented = {m.group(1) for _, title, _ in headings(CLI_DOC) if (m := re.match(r"`swarmgate ?([a-z ]*)`", title))}
    assert documented and documented <= set(COMMANDS), documented - set(COMMANDS)


def test_the_option_check_reports_a_missing_option():
    body = section(CLI_DOC, "baseline promote")
    assert body is not None and "--replace" in body
    without = CLI_DOC.replace(body, body.replace("--replace", "--overwrite"))
    assert undocumented_options("baseline promote", COMMANDS["baseline promote"], without) == ["--replace"]
    # a flag named only as the prefix of a longer one does not count
    assert not mentions_flag("--master", "`--master-port`") and mentions_flag("--master", "`--master` and more")
    # a command without a section is reported
    assert undocumented_options("trend", COMMANDS["trend"], CLI_DOC.replace("`swarmgate trend`", "`trend`"))
    # and a row for an option that does not exist is seen
    assert "--bogus" in documented_flags("| `--bogus N` | 1 | nothing |\n")


# --- Locust options swarmgate adds: docs/ --------------------------------------------------------------------------


def all_docs() -> str:
    pages = sorted(DOCS.glob("*.md"))
    assert pages, "docs/ holds no pages"
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


@pytest.mark.parametrize("module", LOCUST_OPTION_MODULES)
def test_every_locust_option_we_add_is_in_docs(module):
    flags = locust_options(module)
    assert len(flags) >= 6, f"{module}: the option pattern found only {flags}"
    text = all_docs()
    missing = [flag for flag in flags if not mentions_flag(flag, text)]
    assert not missing, f"{module}: {missing} not documented in docs/"


def test_the_locust_option_check_reports_a_missing_option():
    flags = locust_options("shapes/options.py")
    assert "--stage-plan-file" in flags
    text = all_docs().replace("--stage-plan-file", "--stage-file")
    assert [flag for flag in flags if not mentions_flag(flag, text)] == ["--stage-plan-file"]


# --- configuration: docs/configuration.md ---------------------------------------------------------------------------


def sla_keys() -> list[str]:
    """Every key analysis/sla.py accepts: top-level keys, metric names, [regression] keys."""
    journey_only = [m for m in JOURNEY_METRICS if m not in AT_MOST]
    return [*TOP_KEYS, *AT_MOST, *AT_LEAST, *journey_only, *DRIFT_METRICS, *Rules.__dataclass_fields__]


def sla_section() -> str:
    marks = headings(CONFIGURATION)
    for index, (level, title, start) in enumerate(marks):
        if "sla.toml" in title:
            end = next((o for lv, _, o in marks[index + 1 :] if lv <= level), len(CONFIGURATION))
            return CONFIGURATION[start:end]
    raise AssertionError("docs/configuration.md has no section about sla.toml")


def test_the_sla_keys_are_the_ones_the_loader_accepts(tmp_path):
    """The constants read above are what load_sla accepts: a file using every one of them loads."""
    lines = ["apdex_t_ms = 400", "slow_ms = 900", "[defaults]"]
    # values every metric takes (ratios and Apdex lie between 0 and 1); at-least metrics alert below their target
    lines += [f"{m} = {{ target = 0.9, alert = 0.5 }}" if m in AT_LEAST else f"{m} = {{ target = 0.5, alert = 0.9 }}"
              for m in (*AT_MOST, *AT_LEAST)]  # fmt: skip
    lines += ["[regression]", *(f"{key} = 0.01" for key in Rules.__dataclass_fields__), "[drift]"]
    lines += [f"{m} = {{ target = 0.5, alert = 0.9 }}" for m in DRIFT_METRICS]
    lines += ["[scenarios.peak]", "min_rps = { target = 0.9, alert = 0.5 }", "[[endpoints]]", 'name = "/x"']
    path = tmp_path / "sla.toml"
    path.write_text("\n".join(lines) + "\n")
    load_sla(path)
    assert {"defaults", "scenarios", "endpoints", "regression", "drift"} <= set(TOP_KEYS)
    assert len(sla_keys()) >= 20


@pytest.mark.parametrize("key", sla_keys())
def test_every_sla_key_is_in_configuration_md(key):
    assert as_key(key, sla_section()), f"SLA key {key!r} is not documented in docs/configuration.md's sla.toml section"


def test_the_sla_key_check_reports_a_missing_key():
    text = sla_section().replace("min_error_increase", "min_error_rise")
    assert [key for key in sla_keys() if not as_key(key, text)] == ["min_error_increase"]
    assert not as_key("drift", "a word about drift")  # prose is not enough: the key must be written as code
    assert as_key("drift", "[drift]") and as_key("p95_ms", "| `p95_ms` |") and as_key("slow_ms", "slow_ms = 1")


@pytest.mark.parametrize("key", sorted({*SCENARIO_KEYS, *(k for keys in SHAPE_KEYS.values() for k in keys), "kind"}))
def test_every_scenario_key_is_in_configuration_md(key):
    assert as_key(key, CONFIGURATION), f"scenario key {key!r} is not documented in docs/configuration.md"


@pytest.mark.parametrize("kind", sorted(SHAPE_KEYS))
def test_every_shape_kind_is_in_configuration_md(kind):
    assert f"| `{kind}` |" in CONFIGURATION, f"shape kind {kind!r} has no row in docs/configuration.md"


@pytest.mark.parametrize("key", sorted({*WEEKLY_KEYS, *RETENTION_KEYS}))
def test_every_weekly_key_is_in_configuration_md(key):
    assert as_key(key, CONFIGURATION), f"weekly.toml key {key!r} is not documented in docs/configuration.md"


# --- README -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["./run_load_tests.sh", "./run_tests.sh"])
def test_readme_gives_the_two_commands(command):
    assert command in README


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_readme_links_every_docs_page(page):
    assert f"docs/{page}" in links(README), f"README.md does not link docs/{page}"


def test_docs_pages_exist():
    assert {"architecture.md", "cli.md", "configuration.md"} <= {p.name for p in DOCS.glob("*.md")}


# --- links in every Markdown file ---------------------------------------------------------------------------------

MARKDOWN = markdown_files()


def test_markdown_files_are_found():
    names = {str(p.relative_to(ROOT)) for p in MARKDOWN}
    assert {"README.md", "CHANGELOG.md", "docs/cli.md"} <= names
    assert not any(name.startswith((".venv", ".git/")) for name in names)


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = broken_links(page, page.read_text(encoding="utf-8"))
    assert not broken, f"{page.relative_to(ROOT)} links to {broken}, which do not exist"


def test_the_link_check_reports_a_broken_link():
    page = DOCS / "cli.md"
    text = ("[ok](configuration.md) [ok too](#swarmgate-run) [web](https://locust.io) `[not a link](nowhere.md)`\n"
            "[gone](no-such-page.md) [no anchor](configuration.md#no-such-heading) [abs](/etc/passwd)\n"
            "## `swarmgate run`\n")  # fmt: skip
    assert broken_links(page, text) == ["no-such-page.md", "configuration.md#no-such-heading", "/etc/passwd"]
    assert slug("`summary.json` (schema_version 1)") == "summaryjson-schema_version-1"
    assert slug("History (`history.sqlite`)") == "history-historysqlite"
