"""``gradcnn run`` (also ``python -m gradcnn.distributed.run``): start N ranks, as torchrun does.

``gradcnn run --nproc N script.py ARGS`` (or ``-m module ARGS``) starts N processes through the
MPI launcher, ``mpiexec``, each running :mod:`gradcnn.distributed.worker` (which sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` and runs the script). The script calls
``gradcnn.distributed.init_process_group()``; started with the user's own ``mpiexec -n N python
script.py`` instead, it works the same (ranks come from MPI), without the summary below.

* **Which mpiexec**: ``--mpiexec``, else ``$GRADCNN_MPIEXEC``, else the one next to this Python
  (where the ``mpich`` wheel of ``gradcnn[mpi]`` puts it), else the first on ``PATH``.
* **Options**: MPICH's Hydra needs none to run as root or with more ranks than cores. Open MPI's
  launcher gets ``--allow-run-as-root`` when run as root, ``--oversubscribe`` when N exceeds the
  cores, and ``--bind-to none`` (its default binds a rank to one core, starving its threads).
* **Threads**: each rank gets ``GRADCNN_NUM_THREADS = max(1, cores // N)`` (and the same
  ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``), unless they are set already.
* **Failure**: a rank that raises aborts the job (see the worker); a rank killed by a signal makes
  the launcher stop the others. ``--timeout S`` stops the whole job after S seconds. In every case
  the exit status is non-zero and a last line names the rank that failed and how: what the rank
  reported, or, for a rank that could say nothing, which one exited first.
"""

import argparse
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from .worker import STATUS_DIR, WATCH_SOCKET

__all__ = ["add_arguments", "launcher_command", "main", "run", "cores"]

DESCRIPTION = ("Start N ranks of a script through MPI's launcher, as torchrun does; each gets RANK, WORLD_SIZE, "
               "LOCAL_RANK and GRADCNN_NUM_THREADS = cores // N.")


def cores():
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def add_arguments(parser):
    parser.add_argument("--nproc", "--nproc-per-node", "--nproc_per_node", dest="nproc", type=int, default=1,
                        metavar="N", help="number of ranks to start (default 1)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop every rank after this many seconds (default: no limit)")
    parser.add_argument("--mpiexec", default=None, metavar="PATH",
                        help="the MPI launcher (default: $GRADCNN_MPIEXEC, the one beside this Python, "
                             "then PATH)")
    parser.add_argument("-m", "--module", action="store_true",
                        help="run the target as a module (python -m), not a script file")
    parser.add_argument("target", metavar="script", help="the script (or module, with -m) every rank runs")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    return parser


def _find_mpiexec(given):
    candidates = [given, os.environ.get("GRADCNN_MPIEXEC"),
                  os.path.join(os.path.dirname(sys.executable), "mpiexec"), shutil.which("mpiexec")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError("gradcnn run: no mpiexec found: install gradcnn[mpi] (pip install "
                            "'gradcnn[mpi]' brings mpi4py and the MPICH wheel) or pass --mpiexec PATH")


def _flavour(mpiexec):
    try:
        text = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if "HYDRA" in text:
        return "hydra"
    if "Open MPI" in text or "OpenRTE" in text or "PRRTE" in text or "prterun" in text:
        return "openmpi"
    return "unknown"


def launcher_command(nproc, target, args, *, module=False, mpiexec=None, timeout=None, flavour=None,
                     ncores=None, env=None):
    """The command line and environment that start ``nproc`` ranks of ``target``."""
    mpiexec = _find_mpiexec(mpiexec)
    flavour = _flavour(mpiexec) if flavour is None else flavour
    ncores = cores() if ncores is None else ncores
    env = dict(os.environ if env is None else env)
    threads = str(max(1, ncores // nproc))
    exported = []
    for key in ("GRADCNN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(key, threads)
        exported.append(key)
    worker = [sys.executable, "-m", "gradcnn.distributed.worker"] + (["-m"] if module else []) + [target, *args]
    cmd = [mpiexec]
    if flavour == "openmpi":
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        if nproc > ncores:
            cmd.append("--oversubscribe")
        cmd += ["--bind-to", "none"]
        if timeout is not None:
            cmd += ["--timeout", str(max(1, int(round(timeout))))]
        for key in exported + [STATUS_DIR, "PYTHONPATH"]:
            if key in env:
                cmd += ["-x", key]
    elif flavour == "hydra" and timeout is not None:
        env["MPIEXEC_TIMEOUT"] = str(max(1, int(round(timeout))))
    cmd += ["-n", str(nproc)]
    return cmd + worker, env


def _pump(source, sink, tail):
    """Copy the launcher's output to ``sink`` (a text stream) as it comes, keeping its last 64 KiB
    for the summary."""
    raw = getattr(sink, "buffer", None)
    while True:
        chunk = os.read(source.fileno(), 65536)
        if not chunk:
            return
        if raw is not None:
            sink.flush()
            raw.write(chunk)
            raw.flush()
        else:
            sink.write(chunk.decode(errors="replace"))
            sink.flush()
        tail[0] = (tail[0] + chunk)[-65536:]


class _Watch:
    """Which rank died first, before the launcher stopped the rest.

    Every rank connects to the launcher and says its rank and pid (see the worker). Where Linux
    offers ``pidfd_open`` the launcher watches each rank's process, which reports its exit the
    moment it happens, so the order of exits is the true one. Elsewhere it falls back to the order
    in which the connections close, which the kernel may shuffle for processes that die together.
    """

    def __init__(self, directory):
        self.closed = {}  # rank -> place in the order of deaths
        self.stopping = threading.Event()
        self.thread = None
        try:
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(os.path.join(directory, WATCH_SOCKET))
            self.server.listen(64)
        except OSError:  # no Unix sockets, or a path too long for one: the summary says less
            self.server = None
            return
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _died(self, rank):
        self.closed.setdefault(rank, len(self.closed))

    def _serve(self):
        selector = selectors.DefaultSelector()
        selector.register(self.server, selectors.EVENT_READ)
        said, watched = {}, set()
        while True:
            stopping = self.stopping.is_set()  # read before the last look, so nothing is missed
            for key, _ in selector.select(0 if stopping else 0.05):
                if key.fileobj is self.server:
                    conn, _ = self.server.accept()
                    selector.register(conn, selectors.EVENT_READ)
                    said[conn] = b""
                elif key.data is not None:  # a pidfd: that rank's process has exited
                    selector.unregister(key.fileobj)
                    os.close(key.fileobj)
                    self._died(key.data)
                else:
                    self._heard(selector, key.fileobj, said, watched)
            if stopping:
                selector.close()
                return

    def _heard(self, selector, conn, said, watched):
        data = conn.recv(64)
        said[conn] += data
        words = said[conn].split(b"\n")[0].split()
        rank = int(words[0]) if words and words[0].isdigit() else None
        if data and len(words) == 2 and b"\n" in said[conn] and rank not in watched:
            watched.add(rank)
            try:
                selector.register(os.pidfd_open(int(words[1])), selectors.EVENT_READ, rank)
            except (AttributeError, OSError):  # no pidfds here (or the rank is gone already)
                watched.discard(rank)
        if not data:
            selector.unregister(conn)
            conn.close()
            said.pop(conn)
            if rank is not None and rank not in watched:
                self._died(rank)

    def close(self):
        """Stop watching once the job is over (after noting the exits still pending)."""
        if self.thread is not None:
            self.stopping.set()
            self.thread.join(5)
            self.server.close()


def _summary(nproc, status_dir, output, returncode, closed=None, timeout=None):
    """One line naming the rank(s) that failed, from what the ranks left and the order in which
    their connections to the launcher closed (``closed``: rank -> place); ``timeout``: the limit,
    when the job ran past it. Returns ``(traceback, line)``: ``traceback`` is one that MPI's abort
    cut from the output (``""`` if none was lost)."""
    ranks = {}
    for r in range(nproc):
        try:
            with open(os.path.join(status_dir, f"rank{r}.json")) as f:
                ranks[r] = json.load(f)
        except (OSError, ValueError):
            ranks[r] = {}
    failed = [f"rank {r} {s['reason']}" for r, s in ranks.items() if s.get("state") == "failed"]
    if failed:
        # MPI's abort can cut a rank's last output short: show a traceback the output lacks.
        text = output.decode(errors="replace")
        lost = [s["traceback"].rstrip() for s in ranks.values() if s.get("traceback") and s["reason"] not in text]
        return (lost[0] if lost else ""), "; ".join(failed)
    unfinished = [r for r, s in ranks.items() if s.get("state") != "finished"]
    if timeout is not None:
        return "", (f"it ran past --timeout {timeout:g} s and was stopped; "
                    f"rank{'s' if len(unfinished) > 1 else ''} {', '.join(map(str, unfinished))} had not finished")
    dead = sorted((place, r) for r, place in (closed or {}).items() if r in unfinished)
    if dead:
        r = dead[0][1]
        others = [str(o) for o in unfinished if o != r]
        return "", (f"rank {r} (pid {ranks[r].get('pid', '?')}) died without a word (killed by a signal, or "
                    "os._exit)" + (f"; then rank{'s' if len(others) > 1 else ''} {', '.join(others)} "
                                   "stopped" if others else ""))
    if unfinished:
        return "", (f"rank{'s' if len(unfinished) > 1 else ''} {', '.join(map(str, unfinished))} did not finish "
                    f"(launcher exit status {returncode})")
    return "", f"the launcher exited with status {returncode}"


def _stop(proc):
    """End the launcher (which ends the ranks), by force if it will not go."""
    proc.terminate()
    try:
        return proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _unfinished(nproc, status_dir):
    """Ranks that started the script (and said so) but never finished it."""
    late = []
    for r in range(nproc):
        try:
            with open(os.path.join(status_dir, f"rank{r}.json")) as f:
                if json.load(f).get("state") != "finished":
                    late.append(r)
        except (OSError, ValueError):
            pass
    return late


def run(nproc, target, args, *, module=False, mpiexec=None, timeout=None):
    """Start the job, wait for it, and return its exit status (non-zero when any rank failed)."""
    if nproc < 1:
        raise ValueError(f"gradcnn run: --nproc must be at least 1, got {nproc}")
    if not module and not os.path.isfile(target):
        raise FileNotFoundError(f"gradcnn run: no script {target!r} (pass -m to run a module)")
    with tempfile.TemporaryDirectory(prefix="gradcnn-run-") as status_dir:
        env = dict(os.environ, **{STATUS_DIR: status_dir})
        cmd, env = launcher_command(nproc, target, args, module=module, mpiexec=mpiexec, timeout=timeout, env=env)
        watch = _Watch(status_dir)
        began = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        tails = [b""], [b""]
        pumps = [threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, tails[0]), daemon=True),
                 threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, tails[1]), daemon=True)]
        for t in pumps:
            t.start()
        try:  # the launcher enforces --timeout itself; this is in case it does not
            code = proc.wait(None if timeout is None else timeout + 5)
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            code = _stop(proc)
        for t in pumps:
            t.join()
        watch.close()
        late = timeout if timeout is not None and time.monotonic() - began >= timeout else None
        if late is not None:
            code = 124  # as timeout(1) says it; MPICH's launcher may exit 0 after its own timeout
        elif code == 0 and _unfinished(nproc, status_dir):
            code = 1  # a rank left without finishing its script
        if code != 0:
            code = code if code > 0 else 128 - code
            lost, why = _summary(nproc, status_dir, tails[0][0] + tails[1][0], code, dict(watch.closed), late)
            cut = tails[1][0] and not tails[1][0].endswith(b"\n")  # an abort can cut a line short
            print(*([""] if cut else []), *([lost] if lost else []), f"gradcnn run: the job failed: {why}",
                  sep="\n", file=sys.stderr, flush=True)
    return code


def main(argv=None):
    parser = add_arguments(argparse.ArgumentParser(prog="gradcnn run", description=DESCRIPTION))
    args = parser.parse_args(argv)
    try:
        return run(args.nproc, args.target, args.args, module=args.module, mpiexec=args.mpiexec,
                   timeout=args.timeout)
    except (FileNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
