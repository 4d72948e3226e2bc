"""compare's tables (ratios to Rocket) and the Markdown section it maintains in the docs."""

from __future__ import annotations

from rocket.bench.compare import BEGIN_MARK, END_MARK, tables, write_markdown


def rec(server, scenario, rps, p99=1.0, **extra):
    r = {"server": server, "scenario": scenario, "status": "ok", "rps": rps,
         "latency_ms": {"p50_ms": p99 / 2, "p99_ms": p99}, "errors_total": 0, "errors": {}}
    r.update(extra)
    return r


def test_ratios_against_rocket():
    results = [rec("rocket", "hello-c16", 10000.0), rec("waitress", "hello-c16", 5000.0, 4.0),
               rec("granian", "hello-c16", 30000.0, client_bound=True),
               {"server": "cheroot", "scenario": "hello-c16", "status": "start_failed"}]
    text = tables(results, ["rocket", "waitress", "granian", "cheroot"], ["hello-c16"])
    assert "| rocket | 10.0k (1.00×) |" in text
    assert "| waitress | 5.00k (0.50×) |" in text
    assert "| granian | 30.0k (3.00×) * |" in text
    assert "| cheroot | start_failed |" in text
    assert "| waitress | 4.00 |" in text  # the p99 table


def test_errors_are_listed():
    results = [rec("rocket", "echo4k-c16", 100.0, errors_total=3, errors={"read": 3})]
    assert "rocket echo4k-c16: {'read': 3}" in tables(results, ["rocket"], ["echo4k-c16"])


def test_markdown_section_between_markers_is_replaced(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Title\n\nprose\n\n{BEGIN_MARK}\nold table\n{END_MARK}\n\nmore prose\n")
    write_markdown(str(doc), "new table")
    text = doc.read_text()
    assert "old table" not in text
    assert text.startswith("# Title\n\nprose\n\n")
    assert f"{BEGIN_MARK}\nnew table\n{END_MARK}" in text
    assert text.endswith("more prose\n")


def test_markdown_without_markers_is_the_section(tmp_path):
    out = tmp_path / "fresh.md"
    write_markdown(str(out), "just the tables")
    assert out.read_text() == "just the tables"


def test_fairness_table_only_for_scenarios_that_have_it():
    fair = {"connections": 256, "served": 32, "min": 0, "median": 0, "max": 900, "jain": 0.12}
    results = [rec("rocket", "hello-c256", 5000.0, fairness=dict(fair, served=256, jain=1.0)),
               rec("rocket3", "hello-c256", 9000.0, fairness=fair),
               rec("rocket", "hello-c16", 9000.0)]
    text = tables(results, ["rocket", "rocket3"], ["hello-c16", "hello-c256"])
    section = text[text.index("connections that got"):]
    assert "| server | hello-c256 |" in section  # no column for hello-c16
    assert "| rocket3 | 32/256 (Jain 0.12) |" in section
    assert "| rocket | 256/256 (Jain 1.00) |" in section
