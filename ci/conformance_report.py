#!/usr/bin/env python3
"""Judges one run of the MCP conformance suite (see ci/conformance.sh).

usage: conformance_report.py NAME LIST_OUTPUT RUN_OUTPUT [--checks DIR] [NOT_YET ...]

LIST_OUTPUT is what `conformance list` printed for the run: the server
scenarios it must run. RUN_OUTPUT is what the run printed; its summary has a
line per scenario ("✓ name: 3 passed, 0 failed"). Prints a table and exits
1 if any scenario failed (scored or not) that is not in NOT_YET, or if a
listed scenario has no line in the summary.

With --checks DIR (the run's -o folder, a checks.json per scenario), every
check is judged too: a SKIPPED check fails the run unless ALLOWED_SKIPS
below names it, with the reason; warnings are counted and listed.
"""
import glob
import json
import os
import re
import sys

# Checks the suite skips whatever the server does, each with why.
ALLOWED_SKIPS = {
    "tasks-status-notifications": "the suite's own harness does not observe the listen stream "
    "notifications/tasks now travel on (its message: 'The harness needs a rewrite against the new "
    "channel'); tests/tasks.rs checks that delivery",
}


def judge_checks(directory):
    """(skipped-and-not-allowed, allowed skips, warnings) over every checks.json in `directory`."""
    bad, allowed, warnings = [], [], []
    for path in sorted(glob.glob(os.path.join(directory, "*", "checks.json"))):
        scenario = os.path.basename(os.path.dirname(path))
        for check in json.load(open(path, encoding="utf-8")):
            status, check_id = check.get("status"), check.get("id")
            if status == "SKIPPED":
                (allowed if check_id in ALLOWED_SKIPS else bad).append((scenario, check_id, check.get("errorMessage", "")))
            elif status == "WARNING":
                warnings.append((scenario, check_id, check.get("errorMessage", "")))
    return bad, allowed, warnings

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
    name, list_path, run_path, rest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    checks_dir = None
    if rest[:1] == ["--checks"]:
        checks_dir, rest = rest[1], rest[2:]
    not_yet = set(rest)
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
    if checks_dir is not None:
        skipped, allowed, warnings = judge_checks(checks_dir)
        for scenario, check_id, why in skipped:
            print(f"   SKIPPED {check_id} ({scenario}): {why[:200]}")
        for scenario, check_id, _ in allowed:
            print(f"   skipped, as allowed: {check_id}: {ALLOWED_SKIPS[check_id]}")
        for scenario, check_id, why in warnings:
            print(f"   warning {check_id}: {why[:200]}")
        print(f"   {name}: {len(skipped)} skipped checks not allowed, {len(allowed)} allowed, {len(warnings)} warnings")
        bad += len(skipped)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
