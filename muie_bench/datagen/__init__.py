"""The generator of the bundled benchmark muie-synth (README, "Bundled benchmark").

Instance ``k`` of set ``s`` depends only on ``(seed, s, k)`` (:mod:`.rng`), so the mini
benchmark (8 per set) is byte-identical to the first 8 instances of each set of the full one.
"""

GENERATOR_VERSION = "1.0"
