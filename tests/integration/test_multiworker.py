"""Several workers and replicas: real `python -m tfgan_fast.train` processes on 127.0.0.1.

* 2 workers (MultiWorkerMirroredStrategy from TF_CONFIG) and one process split into 2 CPU
  replicas (`run.cpu_replicas = 2`) end where a 1-process run on the same global batch ends;
  only the chief writes the run directory, the other worker's scratch directory is removed.
* A worker killed mid-run: the other fails fast with one line, and restarting both resumes
  bit-identically to an uninterrupted 2-worker run.
* A worker that stalls (alive, but never reaching the next all-reduce): the collective times
  out and the other worker stops with one line.
* A device list naming devices that do not exist is refused before training.
* SIGTERM and Ctrl-C end a run blocked inside TensorFlow (a worker waiting for its cluster).

A small unconditional GAN on the 2-D 8 Gaussians, float32, without batch norm: its update does
not depend on how the global batch is split, so all layouts agree to float tolerance.
"""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import checkpoint_tensors

STEPS = 20
PARAMS = ["run.algorithm = @StandardGAN", "StandardGAN.n_disc = 1", "MLPGenerator.width = 8",
          "MLPDiscriminator.width = 8", "run.batch_size = 8", f"run.train_steps = {STEPS}",
          "run.checkpoint_every = 5", "run.summary_every = 10", "run.callbacks = []",
          "run.progress = False"]
TIMEOUT = 300  # seconds any process of these tests may take; each finishes in well under 60


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _env(tf_config=None, extra=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    env.update(extra or {})
    return env


def _command(model_dir, params=(), gin_files=(), config=None):
    """`python -m tfgan_fast.train` of the 2-D config (`config=None`) or of `config`, a
    `(gin file, params)` pair."""
    gin_file, base_params = config or ("gin/synthetic/fargan_8gaussians.gin", PARAMS)
    return ([sys.executable, "-m", "tfgan_fast.train", f"--model_dir={model_dir}"]
            + [f"--gin_file={f}" for f in [gin_file] + list(gin_files)]
            + [f"--gin_param={p}" for p in base_params + list(params)])


class _Cluster:
    """Worker processes of one cluster on free localhost ports: TF_CONFIG, or (`slurm`) the
    environment variables `srun` sets for a 2-task job step on one node."""

    def __init__(self, log_dir, model_dir, workers=2, params=(), gin_files=(), start=None,
                 config=None, slurm=False, dry_run=False, worker_params=None):
        ports = _free_ports(workers)
        self.logs = [os.path.join(log_dir, f"worker{i}.log") for i in range(workers)]
        self.procs = []
        if slurm:
            port = _consecutive_free_ports(workers)
            params = list(params) + [
                "make_strategy.cluster_resolver = "
                "@tf.distribute.cluster_resolver.SlurmClusterResolver()",
                f"tf.distribute.cluster_resolver.SlurmClusterResolver.port_base = {port}"]
        for i in (range(workers) if start is None else start):
            if slurm:
                # What srun exports to each task of `--nodes=1 --ntasks=2 --gpus-per-node=2`
                # (the resolver hands each task one of the node's GPUs; there are none here).
                env = _env(extra={"SLURM_PROCID": str(i), "SLURM_STEP_NUM_TASKS": str(workers),
                                  "SLURM_STEP_NODELIST": "localhost",
                                  "SLURM_STEP_TASKS_PER_NODE": str(workers),
                                  "CUDA_VISIBLE_DEVICES": ",".join(map(str, range(workers)))})
            else:
                env = _env({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                            "task": {"type": "worker", "index": i}})
            command = _command(model_dir, list(params) + (worker_params or {}).get(i, []),
                               gin_files, config) + (["--dry_run"] if dry_run else [])
            with open(self.logs[i], "ab") as log:
                self.procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                                   stderr=subprocess.STDOUT))

    def wait(self, timeout=TIMEOUT):
        codes = [p.wait(timeout=timeout) for p in self.procs]
        return codes, [open(path, encoding="utf-8").read() for path in self.logs]

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _consecutive_free_ports(n):
    """The first of `n` consecutive free localhost ports (SlurmClusterResolver numbers a
    node's tasks from its port_base)."""
    for _ in range(100):
        first = _free_ports(1)[0]
        try:
            sockets = []
            for port in range(first, first + n):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports")


def _run_one(model_dir, params=(), config=None):
    out = subprocess.run(_command(model_dir, params, config=config), cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    return out.stdout + out.stderr


def _final(model_dir, steps=STEPS):
    return checkpoint_tensors(os.path.join(model_dir, "checkpoints", f"ckpt-{steps}"))


def _max_diff(a, b):
    assert sorted(a) == sorted(b)
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64))))
               for k in a if a[k].dtype.kind == "f")


@pytest.mark.slow
class MultiWorkerTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import tempfile  # pylint: disable=import-outside-toplevel
        cls.root = tempfile.mkdtemp(prefix="multiworker_")
        cls.one_dir = os.path.join(cls.root, "one")
        cls.one_log = _run_one(cls.one_dir)
        cls.two_dir = os.path.join(cls.root, "two")
        cluster = _Cluster(cls.root, cls.two_dir)
        try:
            cls.two_codes, cls.two_logs = cluster.wait()
        finally:
            cluster.kill()

    def test_two_workers_equal_one_process_and_only_the_chief_writes(self):
        self.assertEqual(self.two_codes, [0, 0],
                         self.two_logs[0][-2000:] + self.two_logs[1][-2000:])
        self.assertIn("Strategy: MultiWorkerMirroredStrategy, 2 worker(s) x 1 replica(s), "
                      "global batch 8 (4 per replica); this process is worker 0 (the chief",
                      self.two_logs[0])
        self.assertIn("this process is worker 1 (it writes to a temporary directory",
                      self.two_logs[1])
        self.assertIn("Strategy: default strategy (one device), 1 worker(s) x 1 replica(s), "
                      "global batch 8 (8 per replica).", self.one_log)
        diff = _max_diff(_final(self.one_dir), _final(self.two_dir))
        print(f"max |2 workers - 1 process| over every tensor of the final checkpoint: {diff:.3g}")
        self.assertLess(diff, 1e-5)
        # The chief wrote the run; worker 1 wrote (and removed) a scratch directory of its own.
        for name in ("checkpoints", "export", "train", "operative_config.gin"):
            self.assertTrue(os.path.exists(os.path.join(self.two_dir, name)), name)
        scratch = re.search(r"Exporting the generator to (\S+)/export", self.two_logs[1])
        self.assertIsNotNone(scratch, self.two_logs[1][-2000:])
        self.assertNotEqual(scratch.group(1), self.two_dir)
        self.assertFalse(os.path.exists(scratch.group(1)))
        self.assertIn(f"Done: iteration {STEPS} (worker 1; the chief wrote the run to "
                      f"{self.two_dir}).", self.two_logs[1])

    @staticmethod
    def _cluster_run(model_dir, **kwargs):
        """`(exit codes, logs)` of a 2-worker `_Cluster(..., **kwargs)` on `model_dir`."""
        log_dir = model_dir + "_logs"
        os.makedirs(log_dir)
        cluster = _Cluster(log_dir, model_dir, **kwargs)
        try:
            return cluster.wait()
        finally:
            cluster.kill()

    def test_slurm_job_of_two_tasks(self):
        """docs/distributed.md's SLURM command: SlurmClusterResolver reads a 2-task job step's
        environment (on localhost) and the run equals the 1-process one."""
        model_dir = os.path.join(self.root, "slurm")
        codes, logs = self._cluster_run(model_dir, slurm=True)
        self.assertEqual(codes, [0, 0], logs[0][-2000:] + logs[1][-2000:])
        self.assertIn("Strategy: MultiWorkerMirroredStrategy, 2 worker(s) x 1 replica(s), "
                      "global batch 8 (4 per replica); this process is worker 0 (the chief",
                      logs[0])
        self.assertIn("this process is worker 1 (it writes", logs[1])
        self.assertLess(_max_diff(_final(self.one_dir), _final(model_dir)), 1e-5)

    def test_dry_run_checks_the_cluster(self):
        """--dry_run on 2 workers reports the all-reduce and the shared config digest; a worker
        with another config makes both fail before training, naming it."""
        codes, logs = self._cluster_run(os.path.join(self.root, "preflight"), dry_run=True)
        self.assertEqual(codes, [0, 0], logs[0][-2000:] + logs[1][-2000:])
        for log in logs:
            self.assertRegex(log, r"Config digest [0-9a-f]{16}: the same on all 2 workers\.")
            self.assertRegex(log, r"All-reduce of 363 float32 \(G's and D's gradients, "
                                  r"0.00145 MB\) over 2 replicas: [\d.]+ ms, bus bandwidth "
                                  r"[\d.e+-]+ GB/s\.")
        codes, logs = self._cluster_run(os.path.join(self.root, "preflight_bad"), dry_run=True,
                                        worker_params={1: ["run.seed = 1"]})
        self.assertEqual(codes, [1, 1], logs[0][-2000:] + logs[1][-2000:])
        for log in logs:
            errors = [line for line in log.splitlines()
                      if line.startswith("ConfigMismatchError")]
            self.assertLen(errors, 1, log[-2000:])
            self.assertIn("worker(s) 1 of 2 parsed another gin config than worker 0", errors[0])
            self.assertNotIn("Timed:", log)

    def test_cpu_replicas_split_one_process(self):
        model_dir = os.path.join(self.root, "cpu_replicas")
        log = _run_one(model_dir, ["run.cpu_replicas = 2"])
        self.assertIn("Strategy: MirroredStrategy, 1 worker(s) x 2 replica(s), global batch 8 "
                      "(4 per replica).", log)
        self.assertLess(_max_diff(_final(self.one_dir), _final(model_dir)), 1e-5)

    def _faulty(self, name, fault, params):
        """A 2-worker cluster with `fault` (`kill_worker_at`, `stall_worker_at`) bound."""
        model_dir = os.path.join(self.root, name)
        log_dir = os.path.join(self.root, f"{name}_logs")
        os.makedirs(log_dir)
        return model_dir, log_dir, _Cluster(
            log_dir, model_dir, gin_files=["tests/gin/worker_faults.gin"],
            params=[f"run.callbacks = [@{fault}]"] + params)

    def test_killed_worker_fails_the_other_fast_and_both_resume_exactly(self):
        model_dir, log_dir, cluster = self._faulty("killed", "kill_worker_at",
                                                   ["kill_worker_at.iteration = 12"])
        try:
            codes, logs = cluster.wait(timeout=180)
        finally:
            cluster.kill()
        self.assertEqual(codes[1], 128 + signal.SIGKILL, logs[1][-2000:])
        self.assertIn("worker_faults: SIGKILL at iteration 15", logs[1])
        self.assertEqual(codes[0], 1, logs[0][-2000:])
        lost = [line for line in logs[0].splitlines() if line.startswith("WorkerLostError")]
        self.assertLen(lost, 1, logs[0][-3000:])
        self.assertIn("restart every worker with the same command", lost[0])
        steps = [int(p.rsplit("-", 1)[1]) for p in tf.train.get_checkpoint_state(
            os.path.join(model_dir, "checkpoints")).all_model_checkpoint_paths]
        self.assertEqual(max(steps), 15)

        restart = _Cluster(log_dir, model_dir)
        try:
            codes, logs = restart.wait()
        finally:
            restart.kill()
        self.assertEqual(codes, [0, 0], logs[0][-2000:] + logs[1][-2000:])
        for log in logs:
            self.assertIn(f"Resumed from {os.path.join(model_dir, 'checkpoints', 'ckpt-15')}",
                          log)
        want, got = _final(self.two_dir), _final(model_dir)
        self.assertEqual(sorted(want), sorted(got))
        self.assertEqual([k for k in want if not np.array_equal(want[k], got[k])], [])

    def test_stalled_worker_times_out_the_collective(self):
        _, _, cluster = self._faulty("stalled", "stall_worker_at",
                                     ["stall_worker_at.iteration = 12",
                                      "stall_worker_at.seconds = 120",
                                      "make_strategy.collective_timeout_seconds = 5"])
        try:
            code = cluster.procs[0].wait(timeout=100)
        finally:
            cluster.kill()
        log = open(cluster.logs[0], encoding="utf-8").read()
        self.assertEqual(code, 1, log[-3000:])
        lost = [line for line in log.splitlines() if line.startswith("WorkerLostError")]
        self.assertLen(lost, 1, log[-3000:])
        self.assertIn("during iteration 16: a collective of the 2 workers failed "
                      "(DeadlineExceededError: ", lost[0])
        self.assertNotIn("File ", lost[0])
        print(lost[0])


IMAGE_STEPS = 4
# The quickstart (FastGAN on Fashion-MNIST, evaluated with the packaged classifier) shrunk for
# speed, with an EMA of G, which is evaluated and exported. float32: the comparison with one
# process is then to float tolerance (G's batch norm is synchronised over the replicas). Adam's
# epsilon is 1: the biases before G's batch norms have a gradient that is zero but for rounding,
# which Adam's tiny epsilon turns into steps of +-lr whose sign depends on the summation order
# (max |diff| 7e-3 after 4 iterations with the quickstart's 1e-8, on those biases, their Adam
# slots and the batch norms' moving means); with epsilon 1 Adam's step is ~lr * gradient.
IMAGE = ("gin/quickstart.gin",
         ["ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8", "run.batch_size = 8",
          f"run.train_steps = {IMAGE_STEPS}", "run.checkpoint_every = 2",
          "run.summary_every = 2", "run.eval_every = 0", "Evaluator.num_samples = 64",
          "Evaluator.splits = 2", "run.ema = @GeneratorEMA()", "run.mixed_precision = None",
          "run.progress = False", "make_optimizer.epsilon = 1.0",
          "ExponentialHalving.initial_learning_rate = 0.01"])


def _written(model_dir):
    """Every file under `model_dir`, relative, TensorBoard event files counted per directory
    (their names carry the writer's time, host and pid)."""
    names = []
    for root, _, files in os.walk(model_dir):
        for name in files:
            if name.startswith("events.out.tfevents."):
                name = "events.out.tfevents.*"
            names.append(os.path.relpath(os.path.join(root, name), model_dir))
    return sorted(names)


def _metrics(model_dir):
    with open(os.path.join(model_dir, "metrics.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
class ImageConfigMultiWorkerTest(tf.test.TestCase):
    """An image config with its evaluator, an EMA of G and the export on 2 workers: TensorFlow's
    runtime must not start (loading the evaluator's classifier) before the strategy exists."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import tempfile  # pylint: disable=import-outside-toplevel
        cls.root = tempfile.mkdtemp(prefix="multiworker_image_")
        cls.one_dir = os.path.join(cls.root, "one")
        _run_one(cls.one_dir, config=IMAGE)
        cls.two_dir = os.path.join(cls.root, "two")
        cluster = _Cluster(cls.root, cls.two_dir, config=IMAGE)
        try:
            cls.codes, cls.logs = cluster.wait()
        finally:
            cluster.kill()

    def test_two_workers_equal_one_process(self):
        self.assertEqual(self.codes, [0, 0], self.logs[0][-3000:] + self.logs[1][-3000:])
        self.assertIn("2 worker(s) x 1 replica(s), global batch 8 (4 per replica); this "
                      "process is worker 0 (the chief", self.logs[0])
        one, two = _final(self.one_dir, IMAGE_STEPS), _final(self.two_dir, IMAGE_STEPS)
        self.assertTrue(any("ema" in k.lower() for k in one), sorted(one))
        # The networks' weights (a checkpoint keys D's under its optimiser's references).
        nets = [k for k in one if k.split("/")[0] in ("generator", "discriminator",
                                                      "generator_ema", "delta")
                or "/_trainable_variables/" in k]
        diff = _max_diff({k: one[k] for k in nets}, {k: two[k] for k in nets})
        # Adam's second moments reach ~1e3 here: their float32 rounding is ~1e-4.
        scaled = max(float(np.max(np.abs(one[k].astype(np.float64) - two[k]))
                           / max(1.0, float(np.max(np.abs(one[k]))))) for k in one
                     if one[k].dtype.kind == "f")
        print(f"quickstart (shrunk), 2 workers vs 1 process, final checkpoint: max |diff| "
              f"{diff:.3g} over G, D, the EMA of G and the perturbation; every tensor within "
              f"{scaled:.3g} x max(1, its largest value)")
        self.assertLess(diff, 1e-5)
        self.assertLess(scaled, 1e-5)
        # The evaluation of the EMA generator: the same samples give the same figures.
        (row_one,), (row_two,) = _metrics(self.one_dir), _metrics(self.two_dir)
        self.assertEqual(int(row_two["step"]), IMAGE_STEPS)
        self.assertAllClose(float(row_one["fid"]), float(row_two["fid"]), rtol=1e-3)
        # The export is the averaged G, the same as the 1-process run's.
        z = tf.random.stateless_normal([4, 128], seed=[1, 2])
        labels = tf.constant([0, 3, 7, 9])
        images = [tf.saved_model.load(os.path.join(d, "export", str(IMAGE_STEPS)))
                  .signatures["serving_default"](z=z, labels=labels)["images"].numpy()
                  for d in (self.one_dir, self.two_dir)]
        self.assertEqual(images[0].shape, (4, 32, 32, 1))
        self.assertAllClose(images[0], images[1], atol=1e-4)

    def test_only_the_chief_writes_the_run(self):
        self.assertEqual(self.codes, [0, 0], self.logs[0][-3000:] + self.logs[1][-3000:])
        written = _written(self.two_dir)
        for name in ("metrics.csv", f"samples/step_{IMAGE_STEPS:08d}.png",
                     f"export/{IMAGE_STEPS}/saved_model.pb"):
            self.assertIn(name, written)
        # Exactly what one process writes: a second writer would add event files at least.
        self.assertEqual(written, _written(self.one_dir))
        scratch = re.search(r"Exporting the generator \(EMA of G.*\) to (\S+)/export",
                            self.logs[1])
        self.assertIsNotNone(scratch, self.logs[1][-2000:])
        self.assertFalse(scratch.group(1).startswith(self.two_dir), scratch.group(1))
        self.assertFalse(os.path.exists(scratch.group(1)))


@pytest.mark.slow
class BlockedRunStopsTest(tf.test.TestCase):
    """Worker 0 of a 2-worker cluster whose worker 1 never starts blocks inside TensorFlow
    (waiting for its cluster, holding the interpreter); signals must still end it."""

    def _start_blocked(self, name):
        ports = _free_ports(2)
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                     "task": {"type": "worker", "index": 0}}
        log_path = os.path.join(self.get_temp_dir(), f"{name}.log")
        log = open(log_path, "wb")  # pylint: disable=consider-using-with
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            _command(os.path.join(self.get_temp_dir(), name)) + ["--stop_grace_seconds=3"],
            cwd=ROOT, env=_env(tf_config), stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # The child is up and waiting for worker 1 once TensorFlow has imported; a signal
        # before that only stops it sooner.
        time.sleep(8)
        self.assertIsNone(proc.poll(), open(log_path, encoding="utf-8").read()[-2000:])
        return proc, log_path

    def _check_stops(self, signals, want_code):
        proc, log_path = self._start_blocked(f"sig{signals[0]}")
        start = time.monotonic()
        for signum in signals:
            proc.send_signal(signum)
            time.sleep(0.2)
        code = proc.wait(timeout=60)
        waited = time.monotonic() - start
        log = open(log_path, encoding="utf-8").read()
        self.assertEqual(code, want_code, log[-2000:])
        self.assertIn("the run did not stop within", log)
        self.assertIn("The newest complete checkpoint is intact", log)
        print(f"{[signal.Signals(s).name for s in signals]}: stopped after {waited:.1f} s")

    def test_sigterm(self):
        self._check_stops([signal.SIGTERM], 128 + signal.SIGTERM)

    def test_ctrl_c_twice(self):
        self._check_stops([signal.SIGINT, signal.SIGINT], 128 + signal.SIGINT)


class ScalingEstimateToolTest(tf.test.TestCase):
    """tools/scaling_estimate.py counts a config's parameters and FLOPs."""

    @pytest.mark.slow
    def test_the_tool_counts_a_config(self):
        out = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tools", "scaling_estimate.py"),
             "--gin_file=gin/quickstart.gin", "--image_shape=32,32,1", "--num_classes=10",
             "--gpus=1,8"], cwd=ROOT, env=_env(), capture_output=True, text=True,
            timeout=TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        head = re.search(r"G ([\d.]+)M parameters, ([\d.]+) GFLOP forward per example; "
                         r"D ([\d.]+)M, ([\d.]+) GFLOP", out.stdout)
        self.assertIsNotNone(head, out.stdout)
        self.assertGreater(float(head.group(1)), 0.01)
        self.assertRegex(out.stdout, r"\| 1 \| [\d.]+ ms \| 0.0 ms \| 0% \|")
        self.assertRegex(out.stdout, r"\| 8 \| [\d.]+ ms \| [\d.]+ ms \| \d+% \|")


if __name__ == "__main__":
    tf.test.main()
