"""A replica dies under load behind the shipped nginx config: nobody notices.

Debian's nginx with deploy/nginx/qa-faq.conf, two real `app.py` replicas
started as deploy/systemd/qa-faq@.service starts them, sharing one index
folder, and a steady stream of distinct questions over HTTPS (tests/deploy_*.py).
"""

from __future__ import annotations

import signal
import time

from deploy_cluster import cluster, needs_nginx, snapshot  # noqa: F401  (fixture)
from deploy_load import ChatTab, SteadyLoad

REJOIN_TIMEOUT_S = 60  # hang guard only
#: What nginx logs when a replica fails after a question was passed to it.
IN_FLIGHT_FAILURE = "while reading response header from upstream"


@needs_nginx
def test_a_killed_replica_loses_no_question_keeps_the_chat_and_rejoins(cluster):  # noqa: F811
    tab = ChatTab(cluster.url, cluster.cert, session="failover-tab")
    joins_before = [r.served("POST /gradio_api/queue/join") for r in cluster.replicas]
    first = tab.turn("will the shot hurt?")
    joined = [r.served("POST /gradio_api/queue/join") - n for r, n in zip(cluster.replicas, joins_before)]
    assert sorted(joined) == [0, 1], joined  # the turn went to one replica
    survivor = cluster.replicas[joined.index(1)]
    victim = cluster.replicas[joined.index(0)]
    errors_before = len(cluster.error_log())
    shared = snapshot(cluster.state)
    with SteadyLoad(cluster.https_port, cluster.cert) as load:
        load.wait_for_answers(30)
        # Freeze the victim first, so the questions nginx passes to it meanwhile are in flight
        # (sent, unanswered) when SIGKILL lands: only `non_idempotent` lets nginx resend those.
        victim.signal(signal.SIGSTOP)
        time.sleep(0.5)
        victim.kill()
        load.wait_for_answers(30)
        second = tab.turn("how long does the pain relief last?")
        victim.start()
        victim.wait_ready()
        deadline = time.monotonic() + REJOIN_TIMEOUT_S
        while victim.served("POST /api/ask") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        load.wait_for_answers(20)
    assert load.failures() == {}, f"{load.failures()} of {len(load.outcomes)} questions failed"
    resent = cluster.error_log()[errors_before:].count(IN_FLIGHT_FAILURE)
    assert resent > 0, "no question was in flight on the killed replica, so the retry of a sent POST was not tested"
    # The chat tab kept its replica and its history: two turns, four messages, the first two unchanged.
    assert len(first) == 2 and len(second) == 4 and second[:2] == first
    assert survivor.served("POST /gradio_api/queue/join") >= 2
    assert victim.served("POST /api/ask") > 0, "the restarted replica got no questions from nginx: it did not rejoin"
    assert snapshot(cluster.state) == shared, "a replica wrote into the shared corpus/index folder"
    tab.close()
