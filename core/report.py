"""Rendering a metrics report (`core.metrics.report`) as Markdown, CSV or JSON. Pure: data in, text out.

CSV is long format, one figure per row (`section,key,value`), so a spreadsheet can pivot it and a
new metric adds rows, not columns.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterator

FORMATS = ("md", "csv", "json")


def render(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False)
    if fmt == "csv":
        return to_csv(data)
    if fmt == "md":
        return to_markdown(data)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def rows(data: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(section, key, value) for every figure of the report."""
    for key, value in data["filters"].items():
        yield "filters", key, value
    vol = data["volume"]
    yield "volume", "total", vol["total"]
    for platform, n in vol["by_platform"].items():
        yield "volume.platform", platform, n
    for day, n in vol["by_day"].items():
        yield "volume.day", day, n
    for key, value in data["sentiment"].items():
        yield "sentiment", key, value
    for row in data["share_of_voice"]:
        yield "share_of_voice.mentions", row["brand"], row["mentions"]
        yield "share_of_voice.pct", row["brand"], row["share"]
    for row in data["topics"]:
        yield "topics.mentions", row["topic"], row["mentions"]
        yield "topics.previous", row["topic"], row["previous"]
        yield "topics.change_pct", row["topic"], row["change_pct"]
    for key in ("promoters", "detractors", "detractors_replied", "detractors_won_back", "won_back_pct", "cases_opened"):
        yield "people" if key != "cases_opened" else "cases", key, data[key]
    for section in ("first_response", "resolution"):
        for key, value in data[section].items():
            yield section, key, value
    for section, figures in data["sla"].items():
        for key, value in figures.items():
            yield f"sla.{section}", key, value
    for key, value in data["csat"].items():
        yield "csat", key, value
    yield "nps", "score", data["nps"]


def to_csv(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for section, key, value in rows(data):
        writer.writerow([section, key, "" if value is None else value])
    return buffer.getvalue()


def _v(value: Any, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def _table(header: list[str], body: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_v(c) for c in row) + " |" for row in body]
    return lines


def to_markdown(data: dict[str, Any]) -> str:
    f = data["filters"]
    scope = ", ".join(f"{k} {v}" for k, v in f.items() if v and k in ("brand", "platform", "team")) or "all own brands"
    s, fr, res = data["sentiment"], data["first_response"], data["resolution"]
    lines = [f"# Earful report {f['from']} to {f['to']}", "", f"Scope: {scope}.", "", "## Volume and sentiment", ""]
    lines += _table(["figure", "value"], [
        ["mentions", data["volume"]["total"]],
        ["scored", s["scored"]],
        ["positive / neutral / negative", f"{s['positive']} / {s['neutral']} / {s['negative']}"],
        ["net sentiment", _v(s["net_sentiment"])],
    ])
    if data["volume"]["by_platform"]:
        lines += ["", "By platform:", ""] + _table(["platform", "mentions"], [[p, n] for p, n in data["volume"]["by_platform"].items()])
    if data["volume"]["by_day"]:
        lines += ["", "By day (UTC):", ""] + _table(["day", "mentions"], [[d, n] for d, n in data["volume"]["by_day"].items()])
    lines += ["", "## Share of voice", ""]
    lines += _table(["brand", "competitor", "mentions", "share %"],
                    [[r["brand"], "yes" if r["competitor"] else "no", r["mentions"], r["share"]] for r in data["share_of_voice"]])
    lines += ["", "## Topics", ""]
    lines += _table(["topic", "mentions", "previous period", "change %"],
                    [[r["topic"], r["mentions"], r["previous"], r["change_pct"]] for r in data["topics"]])
    lines += ["", "## People", ""]
    lines += _table(["figure", "value"], [
        ["promoters", data["promoters"]], ["detractors", data["detractors"]],
        ["detractors replied to", data["detractors_replied"]],
        ["detractors won back", f"{data['detractors_won_back']} ({_v(data['won_back_pct'], ' %')})"],
    ])
    lines += ["", "## Response (business time)", ""]
    lines += _table(["figure", "cases", "mean min", "median min", "p90 min"], [
        ["first response", fr["cases"], fr["mean_minutes"], fr["median_minutes"], fr["p90_minutes"]],
        ["resolution", res["cases"], res["mean_minutes"], res["median_minutes"], res["p90_minutes"]],
    ])
    lines += ["", "SLA compliance:", ""]
    lines += _table(["target", "met", "breached", "pending", "compliance %"],
                    [[name.replace("_", " "), v["met"], v["breached"], v["pending"], v["compliance_pct"]]
                     for name, v in data["sla"].items()])
    c = data["csat"]
    lines += ["", "## Satisfaction", ""]
    lines += _table(["figure", "value"], [
        ["cases opened", data["cases_opened"]], ["CSAT responses", c["responses"]], ["CSAT mean (1-5)", c["mean"]],
        ["CSAT satisfied %", c["satisfied_pct"]], ["NPS", _v(data["nps"], "") if data["nps"] is not None else "not collected"],
    ])
    return "\n".join(lines) + "\n"
