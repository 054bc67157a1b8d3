"""The spare servers of scripts/cluster (cassandra-spare, opensearch-spare), which the outage and
fault suites stop and start; the suites that share the main servers are never disturbed. The
session fixture `spares` (conftest.py) brings them up once for every suite that asks for them."""
import logging
import os
import subprocess
from pathlib import Path

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import ConstantReconnectionPolicy, RoundRobinPolicy

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "scripts" / "cluster"
SPARES = ("cassandra-spare", "opensearch-spare")
SPARE_CASSANDRA = os.environ.get("CESYNC_CASSANDRA_SPARE", "127.0.0.3:9042")
SPARE_SEARCH = os.environ.get("CESYNC_OPENSEARCH_SPARE", "http://127.0.0.1:9203")
DRIVER_LOGGERS = ("cassandra.cluster", "cassandra.pool", "cassandra.connection")


def cluster(*args, timeout=600):
    out = subprocess.run([str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"scripts/cluster {' '.join(args)} failed ({out.returncode}):\n{out.stderr}"
    return out.stdout


def running_spares():
    # `status` exits 3 when nothing runs at all; its lines are "NAME STATE ..." or "NAME stopped".
    out = subprocess.run([str(CLUSTER), "status"], capture_output=True, text=True, timeout=120).stdout
    states = dict(line.split()[:2] for line in out.splitlines() if len(line.split()) >= 2)
    return {name for name in SPARES if states.get(name, "stopped") != "stopped"}


def spares_up():
    """Brings the spares up unless they run; returns those it started, and quiets the driver's
    reconnection warnings (a spare node is stopped on purpose). Undo with spares_down()."""
    started = [name for name in SPARES if name not in running_spares()]
    cluster("up", *SPARES)
    for name in DRIVER_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return started


def spares_down(started):
    for name in DRIVER_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    if started:
        cluster("down", *started)


class Outage:
    """Stops one spare server; always starts it again, even when the test fails half-way."""

    def __init__(self, component):
        self.component = component
        self.stopped = False

    def stop(self):
        self.stopped = True
        cluster("down", self.component)

    def start(self):
        cluster("up", self.component)
        self.stopped = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stopped:
            self.start()


def spare_session(request_timeout=10):
    """A driver session to the spare node that tries to reconnect every half second, so that it
    comes back soon after the node does. Returns (cluster, session)."""
    host, _, port = SPARE_CASSANDRA.rpartition(":")
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=request_timeout)
    c = Cluster([host], port=int(port), protocol_version=5, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                reconnection_policy=ConstantReconnectionPolicy(0.5, max_attempts=None))
    return c, c.connect()
