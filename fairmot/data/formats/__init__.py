"""Readers of the dataset kinds: MOTChallenge (mot), CVAT exports (cvat), CrowdHuman (crowdhuman), JDE lists (jde)."""
