"""`xlpipeline send` as real processes: two at once on one workbook, and runs killed mid-way then run
again. Each unit's message is stored by the server exactly once unless the user asks to resend one of
unknown fate, and a run ends with exit code 3 whenever a message is not known to be delivered."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from test_send import ASSESSORS, by_unit
from xlpipeline.resources import DEMO_WORKBOOK


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "考评.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    return path


def start_send(demo, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xlpipeline", "send", str(demo), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err.decode(), err.decode()
    return process.returncode, out.decode(), err.decode()


def counts(server) -> dict[str, int]:
    return {unit: len(messages) for unit, messages in by_unit(server).items()}


def test_two_runs_at_once_send_each_message_once(server, demo):
    server.delay = 0.2
    first, second = start_send(demo), start_send(demo)
    results = sorted([finish(first), finish(second)], key=lambda r: r[0])
    assert [code for code, _, _ in results] == [0, 2], results
    assert "另一个发送任务正在使用这个文件夹的发件记录" in results[1][2]
    assert counts(server) == {unit: 1 for unit in ASSESSORS}


@pytest.mark.parametrize("held", [1, 4, 7])
def test_killed_while_the_server_holds_a_message(server, demo, held):
    """Killed after the server stored message `held` and before it replied: a plain rerun sends the
    others, never that one (its fate is unknown), and exits 3; --resend-unknown then sends it."""
    server.hold_at = held
    process = start_send(demo)
    assert server.arrived.wait(60), process.communicate()
    process.send_signal(signal.SIGKILL)
    process.wait()
    server.release.set()
    unit = by_unit(server).keys() - set(ASSESSORS[:held - 1])
    (unit,) = unit

    code, out, err = finish(start_send(demo))
    assert code == 3, err
    assert f"1 封邮件结果未知（{unit}），可能已送达" in out and "--resend-unknown" in out
    assert f"{unit} |" in out and "跳过（结果未知：上次发送在这封邮件途中中断，可能已送达）" in out
    assert counts(server) == {u: 1 for u in ASSESSORS}

    code, out, _ = finish(start_send(demo))  # still unknown: still 3, still not sent
    assert code == 3 and counts(server) == {u: 1 for u in ASSESSORS}

    code, _, err = finish(start_send(demo, "--resend-unknown"))
    assert code == 0, err
    assert counts(server) == {u: 2 if u == unit else 1 for u in ASSESSORS}


def test_killed_at_random_moments(server, demo):
    """Kills anywhere in a run (planning, connecting, mid-message, between messages), each followed
    by a plain rerun: nothing is stored twice, and the rerun says 3 exactly when a message is unknown."""
    server.delay = 0.05
    rng = random.Random(20261126)
    for _ in range(6):
        process = start_send(demo)
        time.sleep(rng.uniform(0.3, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        code, out, err = finish(start_send(demo))
        assert max(counts(server).values()) == 1, counts(server)
        unknown = "封邮件结果未知" in out
        assert code == (3 if unknown else 0), (code, out, err)
        if not unknown:
            assert counts(server) == {u: 1 for u in ASSESSORS}
        code, _, _ = finish(start_send(demo, "--resend-unknown"))
        assert code == 0 and set(counts(server)) == set(ASSESSORS)
        server.received.clear()
        for leftover in demo.parent.glob(".xlpipeline-outbox*"):
            leftover.unlink()
