"""`./run.sh --for 20`: the demo runs the daemon beside a generated workload for 20 s, then stops
both and compares demo.product with the index demo_product through the official drivers. About
25 s on a built tree with the servers up (install-deps and the build are then no-ops)."""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def demo_processes():
    """The demo's daemon and writer, wherever they run from."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "run --config demo/cesync.yaml" in cmd or "demo/writer.py" in cmd:
            found.append(f"{proc.name}: {cmd}")
    return found


def test_run_sh_for_20_seconds_ends_in_sync():
    if demo_processes():
        pytest.skip(f"a demo runs already, left alone: {demo_processes()}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CESYNC_DEMO_")}
    out = subprocess.run(["./run.sh", "--for", "20"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    tail = (out.stdout + out.stderr)[-4000:]
    assert out.returncode == 0, tail
    summary = re.search(
        r"^summary: (\d+) rows in demo\.product, (\d+) documents in demo_product: in sync",
        out.stdout, re.MULTILINE)
    assert summary, tail
    assert summary.group(1) == summary.group(2)
    assert int(summary.group(1)) > 0, tail
    assert "writer: stopped after" in out.stdout, tail
    assert "Stopped the writer and the daemon (exit status 0)" in out.stdout, tail
    assert not demo_processes(), demo_processes()
