"""Files CI reads: junit.xml (one test case per check) and summary.md (a PR comment or job summary).

Both render summary.json as it is; nothing is recomputed here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌"}


def junit_xml(summary: dict) -> str:
    checks = summary["checks"]
    suite = ET.Element("testsuite", name=f"swarmgate.{summary['run'].get('scenario') or 'run'}",
                       tests=str(len(checks)), failures=str(sum(c["status"] == "fail" for c in checks)))  # fmt: skip
    for check in checks:
        name = " ".join(str(p) for p in (check["method"], check["endpoint"], check["metric"]) if p) or check["kind"]
        case = ET.SubElement(suite, "testcase", classname=f"swarmgate.{check['kind']}", name=name)
        if check["status"] == "fail":
            ET.SubElement(case, "failure", message=check["message"]).text = check["message"]
        elif check["status"] == "warn":
            ET.SubElement(case, "system-out").text = f"WARN: {check['message']}"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _md(text: object) -> str:
    """Markdown-escape text from the run (endpoint names can hold anything)."""
    value = str(text)
    for ch in "\\`*_{}[]<>()#+!|":
        value = value.replace(ch, "\\" + ch)
    return value


def summary_markdown(summary: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, trim_blocks=True)
    env.filters["md"] = _md
    env.filters["num"] = lambda v: "–" if v is None else f"{v:g}"
    problems = [c for c in summary["checks"] if c["status"] != "pass"]
    return env.get_template("summary.md.j2").render(summary=summary, problems=problems, headline=headline(summary),
                                                    icon=ICONS[summary["verdict"]])  # fmt: skip


def headline(summary: dict) -> str:
    """The verdict and why, in one sentence."""
    checks = summary["checks"]
    if summary.get("aborted"):
        return f"The run stopped itself: {summary['aborted']['message']}."
    fails = [c for c in checks if c["status"] == "fail"]
    warns = [c for c in checks if c["status"] == "warn"]
    if fails:
        more = f" (and {len(fails) - 1} more)" if len(fails) > 1 else ""
        return f"{len(fails)} of {len(checks)} checks beyond the alert level: {fails[0]['message']}{more}."
    if warns:
        more = f" (and {len(warns) - 1} more)" if len(warns) > 1 else ""
        first = warns[0]["message"]
        return f"{len(warns)} of {len(checks)} checks beyond target, none beyond the alert level: {first}{more}."
    return f"All {len(checks)} checks within target."
