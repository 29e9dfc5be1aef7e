"""Choosing the strategy and the cluster in one process: TF_CONFIG, Slurm, the order in which
`run` builds its arguments, device lists, the all-reduce probe, and tools/scaling_estimate.py's
model of an iteration (tests/integration/test_multiworker.py runs several workers)."""

import json
import os
from unittest import mock

import gin
import tensorflow as tf

from tests.support import ROOT, strategies
from tfgan_fast.run import config
from tfgan_fast.runtime import distribute
from tfgan_fast.run import experiment

STEPS = 20
PARAMS = ["run.algorithm = @StandardGAN", "StandardGAN.n_disc = 1", "MLPGenerator.width = 8",
          "MLPDiscriminator.width = 8", "run.batch_size = 8", f"run.train_steps = {STEPS}",
          "run.checkpoint_every = 5", "run.summary_every = 10", "run.callbacks = []",
          "run.progress = False"]


_ORDER = []


@gin.configurable
def mw_order_strategy():
    _ORDER.append("strategy")
    return tf.distribute.get_strategy()


@gin.configurable
def mw_order_evaluator():
    _ORDER.append("evaluator")  # loading a classifier would start TensorFlow's runtime here


class StrategyChoiceTest(tf.test.TestCase):

    def test_tf_config(self):
        cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                   "task": {"type": "worker", "index": 1}}
        with mock.patch.dict(os.environ, {"TF_CONFIG": json.dumps(cluster)}):
            resolver = distribute.tf_config_cluster()
            self.assertEqual((resolver.task_type, resolver.task_id), ("worker", 1))
            self.assertEqual(resolver.cluster_spec().num_tasks("worker"), 2)
        for text, error in (("{'cluster':", "TF_CONFIG is not JSON"),
                            (json.dumps(dict(cluster, task={"type": "ps", "index": 0})),
                             "tfgan_fast runs as a 'worker' or 'chief' task")):
            with mock.patch.dict(os.environ, {"TF_CONFIG": text}):
                with self.assertRaisesRegex(ValueError, error):
                    distribute.tf_config_cluster()
        for text in ("", json.dumps({"task": {"type": "worker", "index": 0}})):
            with mock.patch.dict(os.environ, {"TF_CONFIG": text}):
                self.assertIsNone(distribute.tf_config_cluster())

    def test_slurm_resolver_is_a_gin_reference(self):
        gin.parse_config("make_strategy.cluster_resolver = "
                         "@tf.distribute.cluster_resolver.SlurmClusterResolver()")
        self.assertEqual(distribute.communication_options(7).timeout_seconds, 7)
        self.assertEqual(distribute.communication_options().implementation,
                         tf.distribute.experimental.CommunicationImplementation.RING)

    def test_run_builds_the_strategy_before_its_other_arguments(self):
        del _ORDER[:]
        config.parse([os.path.join(ROOT, "gin/synthetic/fargan_8gaussians.gin")],
                     PARAMS + ["run.strategy_fn = @mw_order_strategy",
                               "run.evaluator = @mw_order_evaluator()"])
        experiment.build(self.get_temp_dir())
        self.assertEqual(_ORDER, ["strategy", "evaluator"])

    def test_multi_worker_after_the_runtime_started_is_one_line(self):
        tf.constant(0.0)  # the runtime is up
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec({"worker": ["127.0.0.1:1", "127.0.0.1:2"]}),
            task_type="worker", task_id=0)
        with self.assertRaisesRegex(
                distribute.RuntimeStartedError,
                r"^MultiWorkerMirroredStrategy requested after TensorFlow's runtime started in "
                r"this process \(an op ran, .*\): build it with distribute.make_strategy "
                r"before anything else touches TensorFlow, as experiment.run does"):
            distribute.make_strategy(cluster_resolver=resolver)

    def test_config_digest_and_bus_bandwidth(self):
        self.assertEqual(distribute.config_digest(""), "e3b0c44298fc1c14")  # SHA-256 of ""
        self.assertEqual(distribute.check_same_config(tf.distribute.get_strategy(), ""),
                         "e3b0c44298fc1c14")  # one worker: nothing to compare
        # A ring all-reduce of 1 MB over 4 replicas in 0.5 s: each sends 2 * 3/4 MB.
        self.assertEqual(distribute.bus_bandwidth(1e6, 4, 0.5), 3e6)
        self.assertEqual(distribute.bus_bandwidth(1e6, 1, 0.5), 0.0)

    def test_allreduce_probe_on_two_replicas(self):
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            self.skipTest("needs two logical CPUs")
        seconds, bandwidth = distribute.allreduce_probe(strategy, 1000, repeats=2)
        self.assertGreater(seconds, 0.0)
        self.assertAllClose(bandwidth, distribute.bus_bandwidth(4000, 2, seconds))

    def test_one_process_layout(self):
        self.assertEqual(distribute.worker_layout(tf.distribute.get_strategy()),
                         (1, None, 0, True))

    def test_missing_devices_are_named_with_the_existing_ones(self):
        distribute.check_devices(["/cpu:0"])
        with self.assertRaisesRegex(
                distribute.DeviceError,
                r"^make_strategy.devices=\['/cpu:0', '/cpu:7'\]: '/cpu:7' does not exist in "
                r"this process, which has /cpu:0, /cpu:1 \(for several replicas on one CPU: "
                r"run.cpu_replicas=N\)"):
            distribute.make_strategy(devices=["/cpu:0", "/cpu:7"])
        with self.assertRaisesRegex(distribute.DeviceError, "'/gpu:0' does not exist"):
            distribute.check_devices(["/gpu:0"])

    def test_cpu_replicas_after_initialisation_is_one_line(self):
        have = len(tf.config.list_logical_devices("CPU"))
        self.assertEqual(distribute.split_cpu(have), [f"/cpu:{i}" for i in range(have)])
        with self.assertRaisesRegex(distribute.DeviceError,
                                    f"run.cpu_replicas={have + 1}: TensorFlow already runs "
                                    f"with {have} logical CPU"):
            distribute.split_cpu(have + 1)


class ScalingEstimateTest(tf.test.TestCase):
    """tools/scaling_estimate.py's model of an iteration, against hand-computed values."""

    def test_iteration_model_and_estimate(self):
        from tools import scaling_estimate  # pylint: disable=import-outside-toplevel
        # D step: B (G fwd + 3 x 2 D fwd) = 4 (100 + 300); G step: 3 B (G + D) = 12 x 150.
        flops, grad_bytes = scaling_estimate.iteration_model(
            params_g=10, params_d=20, flops_g=100, flops_d=50, batch=4, d_steps=2, g_steps=1)
        self.assertEqual((flops, grad_bytes), (2 * 1600 + 1800, 4 * (2 * 20 + 10)))
        compute, allreduce = scaling_estimate.estimate(1e15, 1e9, 8, "a100", 0.5)
        self.assertAllClose([compute, allreduce], [1e15 / 8 / 156e12, 1.75e9 / 300e9])
        # Beyond one node the ring runs through InfiniBand (25 GB/s per GPU).
        self.assertAllClose(scaling_estimate.estimate(1e15, 1e9, 64, "a100", 0.5)[1],
                            2 * 63 / 64 * 1e9 / 25e9)
        self.assertEqual(scaling_estimate.estimate(1e15, 1e9, 1)[1], 0.0)


if __name__ == "__main__":
    tf.test.main()
