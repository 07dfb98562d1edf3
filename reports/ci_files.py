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
    fails = sum(c["status"] == "fail" for c in problems)
    headline = (f"{fails} check(s) beyond the alert level." if fails else
                f"{len(problems)} check(s) beyond target, none beyond the alert level." if problems else
                "Every check is within target.")  # fmt: skip
    return env.get_template("summary.md.j2").render(summary=summary, problems=problems, headline=headline,
                                                    icon=ICONS[summary["verdict"]])  # fmt: skip
