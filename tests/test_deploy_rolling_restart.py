"""Graceful shutdown and a rolling restart behind the shipped nginx config, under load.

Each replica in turn gets SIGTERM (what `systemctl restart qa-faq@PORT` sends,
as deploy/rolling-restart.sh does): uvicorn stops accepting, finishes the
questions in flight and exits, while nginx sends new questions to the other
replica. It is started again and, once nginx is giving it questions, the next
one goes. Not one question may fail.
"""

from __future__ import annotations

import signal
import time

from deploy_cluster import cluster, needs_nginx  # noqa: F401  (fixture)
from deploy_load import SteadyLoad

REJOIN_TIMEOUT_S = 60  # hang guard only


@needs_nginx
def test_rolling_restart_under_load_loses_no_question(cluster):  # noqa: F811
    exits, old_pids = [], [r.process.pid for r in cluster.replicas]
    with SteadyLoad(cluster.https_port, cluster.cert) as load:
        load.wait_for_answers(30)
        for replica in cluster.replicas:
            exits.append(replica.terminate())
            stopped_log = replica.log_text()
            replica.start()
            replica.wait_ready()
            # As deploy/rolling-restart.sh waits: nginx must be passing it questions again
            # before the next replica stops, or both could be out of rotation at once.
            deadline = time.monotonic() + REJOIN_TIMEOUT_S
            while replica.served("POST /api/ask") == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert replica.served("POST /api/ask") > 0, "nginx did not take the restarted replica back"
            assert "Finished server process" in stopped_log and "Traceback" not in stopped_log
            load.wait_for_answers(20)
    assert load.failures() == {}, f"{load.failures()} of {len(load.outcomes)} questions failed"
    # After its graceful shutdown uvicorn re-raises the SIGTERM it caught, and systemd counts that
    # as a clean stop (SuccessExitStatus includes SIGTERM); an error would exit 1 or 2.
    assert set(exits) <= {0, -signal.SIGTERM}, exits
    assert all(r.process.pid not in old_pids for r in cluster.replicas)
