"""A corpus change reaches every replica without a restart or a failed question.

Under a steady load through nginx, a new section is added to the shared
corpus and the index is rebuilt with deploy/systemd/qa-faq-build.service's
own command (`python -m qa build`, into the folder both replicas read). The
build writes aside and swaps the `current` link atomically; each replica
notices at its next question (it checks at most every REFRESH_SECONDS) and
switches in one step. Checked on each replica directly, bypassing nginx.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from deploy_cluster import cluster, needs_nginx  # noqa: F401  (fixture)
from deploy_load import SteadyLoad

SWITCH_TIMEOUT_S = 60  # hang guard only: the switch takes seconds
NEW_SECTION = """

## Parking at the Clinic

Patients coming for a hip injection can park free of charge in the visitor car park beside the main entrance. Bring the parking ticket to reception so it can be stamped.
"""


@needs_nginx
def test_a_rebuilt_index_reaches_both_replicas_under_load(cluster):  # noqa: F811
    corpus = cluster.state / "corpus" / "hip_injections.md"
    before = [r.health()["index"] for r in cluster.replicas]
    pids = [r.process.pid for r in cluster.replicas]
    build = cluster.build_command()
    with SteadyLoad(cluster.https_port, cluster.cert) as load:
        load.wait_for_answers(30)
        corpus.write_text(corpus.read_text(encoding="utf-8") + NEW_SECTION, encoding="utf-8")
        done = subprocess.run(build.argv, cwd=build.cwd, env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **build.env},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        manifest = json.loads((cluster.state / "index" / "current" / "manifest.json").read_text())
        deadline = time.monotonic() + SWITCH_TIMEOUT_S
        while any(r.health()["index"]["built_at"] != manifest["built_at"] for r in cluster.replicas):
            assert time.monotonic() < deadline, [r.health()["index"] for r in cluster.replicas]
            time.sleep(0.2)
        load.wait_for_answers(30)
    assert load.failures() == {}, f"{load.failures()} of {len(load.outcomes)} questions failed"
    assert [r.process.pid for r in cluster.replicas] == pids, "a replica restarted"
    for replica, old in zip(cluster.replicas, before):
        now = replica.health()["index"]
        assert now["passage_count"] == old["passage_count"] + 1 == manifest["passage_count"]
        answer = replica.ask("Where can I park when I come for my hip injection?")
        assert any("Parking at the Clinic" in p["heading_path"] for p in answer["passages"]), answer["message"]
