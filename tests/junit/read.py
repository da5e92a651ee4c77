"""Reads a junit.xml the way CI test reporters do (with junitparser), and prints what
tests/junit.rs checks as JSON: failures and errors counted per test case, skipped cases,
and the test cases that lack the `file` or `line` attribute CI annotations need."""

import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
cases = failures = errors = skipped = 0
without_location = []
messages = []
for suite in xml:
    for case in suite:
        cases += 1
        for result in case.result:
            if isinstance(result, Failure):
                failures += 1
                messages.append(result.message or "")
            elif isinstance(result, Error):
                errors += 1
            elif isinstance(result, Skipped):
                skipped += 1
        attrs = case._elem.attrib
        if not attrs.get("file") or not attrs.get("line", "").isdigit():
            without_location.append(case.name)
print(
    json.dumps(
        {
            "cases": cases,
            "failures": failures,
            "errors": errors,
            "skipped": skipped,
            "without_location": without_location,
            "failure_messages": messages,
        }
    )
)
