"""Seeds for replicates: common random numbers across settings.

Replicate ``r`` of base seed ``s`` always gets the same seed, whatever the setting, so paired
comparisons between scenarios differ only by the scenario (common random numbers).
"""

from __future__ import annotations

import numpy as np


def replicate_seed(base_seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` (0-based) for ``base_seed``; replicate 0 is the base."""
    if replicate == 0:
        return int(base_seed)
    state = np.random.SeedSequence([int(base_seed), int(replicate)]).generate_state(1, dtype=np.uint32)
    return int(state[0] & 0x7FFFFFFF)  # a plain Python int (Mesa's rng depends on the type)
