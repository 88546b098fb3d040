"""Combines cargo-mutants runs: a mutant is killed when any suite kills it.

Usage: python3 analysis/mutants_union.py DIR[:strict] [DIR[:strict] ...]
Each DIR is a cargo-mutants output directory (the one holding mutants.out/,
or mutants.out itself). With `:strict`, that run's timeouts do not count as
kills (for a run whose timeouts came from the machine's load, not from a
mutant that hangs). Prints, per file and in total, how many mutants were
viable, killed (caught or timed out) by any run, and the survivors by name.
A mutant that one run found unviable (it does not compile in that run's
mode, e.g. a model-only line in an ordinary build) counts only where another
run could build it.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

KILLED = {"CaughtMutant", "Timeout"}


def outcomes(argument):
    directory, _, mode = argument.partition(":")
    path = Path(directory)
    if (path / "mutants.out").is_dir():
        path = path / "mutants.out"
    data = json.loads((path / "outcomes.json").read_text())
    for outcome in data["outcomes"]:
        mutant = outcome["scenario"].get("Mutant") if isinstance(outcome["scenario"], dict) else None
        if mutant:
            summary = outcome["summary"]
            if mode == "strict" and summary == "Timeout":
                summary = "MissedMutant"
            yield mutant["name"], mutant["file"], summary


def main():
    seen = {}
    for directory in sys.argv[1:]:
        for name, file, summary in outcomes(directory):
            best = seen.get(name, (file, "Unviable"))[1]
            rank = {"Unviable": 0, "MissedMutant": 1, "Timeout": 2, "CaughtMutant": 3}
            if rank.get(summary, 0) >= rank.get(best, 0):
                best = summary
            seen[name] = (file, best)
    per_file = defaultdict(lambda: [0, 0])
    survivors = []
    for name, (file, summary) in sorted(seen.items()):
        if summary == "Unviable":
            continue
        per_file[file][0] += 1
        if summary in KILLED:
            per_file[file][1] += 1
        else:
            survivors.append(name)
    total = sum(v for v, _ in per_file.values())
    killed = sum(k for _, k in per_file.values())
    for file, (viable, dead) in sorted(per_file.items()):
        print(f"{file:40} {dead:4} of {viable:4} killed")
    print(f"{'total':40} {killed:4} of {total:4} killed ({100 * killed / max(total, 1):.1f} %)")
    print(f"\n{len(survivors)} survivors:")
    for name in survivors:
        print(f"  {name}")


if __name__ == "__main__":
    main()
