"""Near-duplicate messages grouped, so staff see one line with a count.

Vectors are the encoder's L2-normalised embeddings of the redacted texts, so
the cosine of two messages is their dot product. Greedy leader clustering in
arrival order: a message joins the first group whose leader it matches with
cosine >= ``SIMILAR``, else it leads a new group. Pure; no encoding here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Cosine above which two patients asked the same thing (all-MiniLM-L6-v2:
#: "how much does it cost" / "how much does the injection cost" score ~0.85,
#: different questions about the same topic ~0.5-0.7).
SIMILAR = 0.8


@dataclass(frozen=True)
class Group:
    ids: tuple[int, ...]  # the leader first

    @property
    def leader(self) -> int:
        return self.ids[0]

    @property
    def count(self) -> int:
        return len(self.ids)


def vector(blob: bytes | None) -> np.ndarray | None:
    return np.frombuffer(blob, dtype=np.float32) if blob else None


def group(items: list[tuple[int, np.ndarray | None]], *, threshold: float = SIMILAR) -> list[Group]:
    """Groups of ``(id, vector)`` items, largest first (ties: earliest first).
    An item without a vector is a group of its own."""
    leaders: list[tuple[np.ndarray, list[int]]] = []
    alone: list[list[int]] = []
    for item_id, vec in items:
        if vec is None:
            alone.append([item_id])
            continue
        for leader_vec, members in leaders:
            if leader_vec.shape == vec.shape and float(np.dot(leader_vec, vec)) >= threshold:
                members.append(item_id)
                break
        else:
            leaders.append((vec, [item_id]))
    groups = [members for _, members in leaders] + alone
    order = {item_id: n for n, (item_id, _) in enumerate(items)}
    groups.sort(key=lambda members: (-len(members), order[members[0]]))
    return [Group(tuple(members)) for members in groups]
