"""Every random stream of training and evaluation, in one registry.

Randomness has one owner: each random tensor of a training step is drawn *statelessly* from
`(run seed, iteration, salt)`, with the D sub-step folded in for the second and later of the
`n_disc` D steps of an iteration, for the global batch and sliced per replica
(`distribute.replica_rows`). So a step is reproducible, a resumed run continues the same random
stream, and the result does not depend on the number of replicas. A salt keeps the streams of one
iteration apart; a new stream takes a free number below `SALTS_PER_ITERATION` here, and nowhere
else.
"""

import enum

import tensorflow as tf


class Salt(enum.IntEnum):
    """The salts of one training iteration (values are part of every run's random stream: never
    renumber one, or resumed runs change)."""
    D_LATENTS = 1           # z of a D step's fakes (and fake-as-real candidates)
    D_LABELS = 2            # y of a D step's fakes
    G_LATENTS = 3           # z of the G step
    G_LABELS = 4            # y of the G step
    ATTACK_INIT = 5         # PGD's random start (RobGAN)
    D_AUGMENT = 6           # DiffAugment's parameters, D step
    G_AUGMENT = 7           # the same, G step
    INTERPOLATION = 9       # interpolation coefficients of a gradient penalty
    D_LATENT_MASK = 11      # LOGAN's mask of optimised latent dimensions, D step
    G_LATENT_MASK = 12      # the same, G step
    STATE_INIT = 15         # initial algorithm state (FastGAN's perturbation); iteration-free


SALTS_PER_ITERATION = 16

# Evaluation's streams (`eval/features.py`): seed `[eval seed, batch index * 1000 + salt]`.
EVAL_LATENTS = 101
EVAL_LABELS = 102


def step_seed(seed, iteration, salt, substep=0):
    """A `[2]` int64 seed unique to `(seed, iteration, D sub-step, salt)`.

    Args:
        seed: the run's seed (Python int).
        iteration: the iteration (int64 tensor or int).
        salt: a `Salt`.
        substep: which of the iteration's D steps (0 for the first and for the G step); a Python
            int, folded into the seed when non-zero.
    """
    it = tf.cast(iteration, tf.int64)
    value = tf.stack([tf.constant(seed, tf.int64), it * SALTS_PER_ITERATION + int(salt)])
    if substep:
        value = tf.random.experimental.stateless_fold_in(value, substep)
    return value


def state_seed(seed):
    """The seed of algorithm state drawn once at the start of a run (`Salt.STATE_INIT`)."""
    return [seed, int(Salt.STATE_INIT)]


class StepRandom:
    """The random streams of one D step (`substep`) or G step of the current iteration.

    Passed explicitly to every part of a step, so no trace-time state decides which sub-step a
    random tensor belongs to.
    """

    def __init__(self, seed, iteration, substep=0):
        self.seed_value, self.iteration, self.substep = int(seed), iteration, int(substep)

    def seed(self, salt):
        """`step_seed` of this step for `salt`."""
        return step_seed(self.seed_value, self.iteration, salt, self.substep)
