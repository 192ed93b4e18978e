"""Graceful shutdown and a rolling restart behind the shipped nginx config, under load.

Each replica in turn gets SIGTERM (what `systemctl restart qa-faq@PORT` sends,
as deploy/rolling-restart.sh does): uvicorn stops accepting, finishes the
questions in flight and exits, while nginx sends new questions to the other
replica. It is started again and, once nginx is giving it questions, the next
one goes. Not one question may fail.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from http.client import HTTPConnection, HTTPException

from deploy_cluster import cluster, needs_nginx  # noqa: F401  (fixture)
from deploy_load import SteadyLoad, question_jobs

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


#: One replica's whole bounded queue (16 answering + 32 waiting, qa_web.settings), sent at once.
BURST = 48


@needs_nginx
def test_sigterm_finishes_the_questions_in_flight(cluster):  # noqa: F811
    """Straight to one replica, so no retry by nginx could hide a lost question: SIGTERM lands
    once the first of a burst of questions is answered, while the rest are still being worked on."""
    replica = cluster.replicas[0]
    jobs = question_jobs()[-BURST:]
    connections = [HTTPConnection("127.0.0.1", replica.port, timeout=60) for _ in jobs]
    for connection in connections:
        connection.connect()
    first_answer, go = threading.Event(), threading.Barrier(len(jobs) + 1)
    statuses: list[int | str] = []

    def ask(connection: HTTPConnection, body: dict) -> None:
        go.wait()
        try:
            connection.request("POST", "/api/ask", body=json.dumps({**body, "k": 10}), headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            statuses.append(response.status if "message" in json.loads(response.read()) else "bad body")
        except (OSError, HTTPException, ValueError) as exc:
            statuses.append(type(exc).__name__)
        first_answer.set()

    threads = [threading.Thread(target=ask, args=pair) for pair in zip(connections, jobs)]
    for thread in threads:
        thread.start()
    go.wait()
    first_answer.wait(timeout=60)
    replica.signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    code = replica.process.wait(timeout=60)
    log = replica.log_text()
    replica.start()
    replica.wait_ready()
    assert statuses == [200] * BURST, statuses
    after_sigterm = log.split("Shutting down", 1)[1].count('"POST /api/ask HTTP/1.1" 200')
    assert after_sigterm > 0, "every question was answered before SIGTERM: nothing was in flight"
    assert "Finished server process" in log and code in (0, -signal.SIGTERM)
