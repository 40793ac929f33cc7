"""The harness' watch for sanitizer reports in dialplane's log (conftest.new_sanitizer_reports): what makes an
ASan/UBSan report of the sanitizer build (scripts/run-tests.sh, build-asan) fail the e2e run. No services needed."""

from __future__ import annotations

from pathlib import Path

import conftest
from conftest import new_sanitizer_reports, watch_for_sanitizer_reports

ASAN = """=================================================================
==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x55 bp 0x7f sp 0x7f
READ of size 8 at 0x602000000010 thread T0
    #0 0x55 in dp::app::CallFlow::events(std::string) service/app/session/call_flow.cpp:123
SUMMARY: AddressSanitizer: heap-use-after-free service/app/session/call_flow.cpp:123 in events
"""
UBSAN = "service/core/dial_machine.cpp:77:12: runtime error: signed integer overflow: 2147483647 + 1\n"
LEAK = "\n==99==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 77 byte(s) in 1 object(s)\n"
CLEAN = ("2024-01-01T00:00:00.000Z level=error event=webhook_failed error=\"runtime error: not a sanitizer\"\n"
         "2024-01-01T00:00:00.001Z level=info event=call_ended call_sid=x\n")


def watched(tmp_path: Path, name: str, text: str = "") -> Path:
    log = tmp_path / name
    log.write_text(text)
    watch_for_sanitizer_reports(log)
    return log


def append(log: Path, text: str) -> None:
    with open(log, "a") as fh:
        fh.write(text)


def test_reports_found_once_each_and_only_after_the_watch_began(tmp_path: Path) -> None:
    before = "==1==ERROR: AddressSanitizer: a report of an earlier run in the same log\n"
    logs = [watched(tmp_path, f"dialplane-{i}.log", before) for i in range(3)]
    try:
        assert new_sanitizer_reports() == []
        append(logs[0], CLEAN + ASAN)
        append(logs[1], CLEAN + UBSAN)
        append(logs[2], CLEAN + LEAK)
        reports = new_sanitizer_reports()
        assert len(reports) == 3
        assert "heap-use-after-free" in reports[0] and "call_flow.cpp:123" in reports[0]
        assert "signed integer overflow" in reports[1]
        assert "LeakSanitizer: detected memory leaks" in reports[2]
        assert new_sanitizer_reports() == []  # each report counts once
    finally:
        for log in logs:
            conftest._DIALPLANE_LOGS.pop(log, None)


def test_ordinary_log_lines_are_not_reports(tmp_path: Path) -> None:
    log = watched(tmp_path, "dialplane.log")
    try:
        append(log, CLEAN * 20)
        assert new_sanitizer_reports() == []
    finally:
        conftest._DIALPLANE_LOGS.pop(log, None)
