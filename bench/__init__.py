"""Performance benchmarks for the clinic FAQ assistant (``python -m bench``).

One job: measure speed side by side and write ``bench/RESULTS.md`` with its
plots. Every figure that is compared is a ratio of two things measured in the
same run on the same machine, because absolute times on a shared 2-core box
drift from run to run. Each section module measures one thing and returns a
``Section`` of plain values; ``report`` turns them into ``RESULTS.md`` and
``plots`` into PNGs. docs/performance.md explains the findings.

May import: anything of ``qa`` (it times the core's parts one by one),
``qa_web.settings`` and ``eval`` (to start a real server and to judge a
trial encoder's answers). Nothing imports ``bench``, and nothing here changes
the ``qa`` library: speed-ups the numbers justify are proposals.
"""
