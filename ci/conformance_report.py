#!/usr/bin/env python3
"""Judges one run of the MCP conformance suite (see ci/conformance.sh).

usage: conformance_report.py NAME LIST_OUTPUT RUN_OUTPUT [NOT_YET ...]

LIST_OUTPUT is what `conformance list` printed for the run: the server
scenarios it must run. RUN_OUTPUT is what the run printed; its summary has a
line per scenario ("✓ name: 3 passed, 0 failed"). Prints a table and exits
1 if any scenario failed (scored or not) that is not in NOT_YET, or if a
listed scenario has no line in the summary.
"""
import re
import sys

SUMMARY_LINE = re.compile(r"^([✓✗]) (\S+): (\d+) passed, (\d+) failed")


def listed_server_scenarios(text):
    """Server scenario names from `conformance list` output."""
    names, in_server_section = [], False
    for line in text.splitlines():
        if line.startswith("Server scenarios"):
            in_server_section = True
            continue
        if not line.startswith(" "):
            in_server_section = False
        item = re.match(r"^\s+- (\S+)(?: \[(\w+)\])?$", line)
        if not item:
            continue
        if in_server_section or item.group(2) == "server":
            names.append(item.group(1))
    return names


def summary(text):
    """{scenario: (passed_bool, checks_passed, checks_failed)} from the run."""
    if "=== SUMMARY ===" not in text:
        return None
    results = {}
    for line in text.split("=== SUMMARY ===", 1)[1].splitlines():
        m = SUMMARY_LINE.match(line)
        if m and m.group(2) not in results:
            results[m.group(2)] = (m.group(1) == "✓", int(m.group(3)), int(m.group(4)))
    return results


def main():
    name, list_path, run_path, not_yet = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
    expected = listed_server_scenarios(open(list_path, encoding="utf-8").read())
    results = summary(open(run_path, encoding="utf-8").read())
    if not expected:
        print(f"   {name}: `conformance list` named no server scenarios")
        return 1
    if results is None:
        print(f"   {name}: the run printed no summary")
        return 1
    bad = 0
    rows = []
    for scenario in expected + sorted(set(results) - set(expected)):
        if scenario not in results:
            rows.append((scenario, "MISSING", "", "listed but not run"))
            bad += 1
            continue
        ok, passed, failed = results[scenario]
        checks = f"{passed}/{passed + failed}"
        if ok:
            note = "passes (listed as not yet implemented)" if scenario in not_yet else ""
            rows.append((scenario, "pass", checks, note))
        elif scenario in not_yet:
            rows.append((scenario, "not yet", checks, "the tasks extension: not yet implemented"))
        else:
            rows.append((scenario, "FAIL", checks, ""))
            bad += 1
    width = max([len("scenario")] + [len(r[0]) for r in rows])
    print(f"   {'scenario':<{width}}  {'result':<8} {'checks':<7} note")
    for scenario, result, checks, note in rows:
        print(f"   {scenario:<{width}}  {result:<8} {checks:<7} {note}".rstrip())
    passed = sum(1 for r in rows if r[1] == "pass")
    waiting = sum(1 for r in rows if r[1] == "not yet")
    print(f"   {name}: {passed} passed, {waiting} not yet implemented, {bad} failed or missing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
