"""Performance benchmarks for the clinic FAQ assistant (``python -m bench``).

Every figure that is compared is a ratio of two things measured in the same
run on the same machine, because absolute times on a shared 2-core box drift
from run to run. Each section module measures one thing and returns a
``Section`` of plain values; ``report`` turns them into ``RESULTS.md`` and
``plots`` into PNGs. Nothing here changes the ``qa`` library: speed-ups that
the numbers justify are written up as proposals in ``RESULTS.md``.
"""
