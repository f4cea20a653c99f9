"""Collecting with several processes: the subscriptions of a scope split across workers.

Python runs one thread of a process at a time, and every request costs the collecting process
CPU time (TLS, HTTP, the SDK's pipeline, JSON): one process reads about ten subscriptions at
ARM's pace and no more. For a larger scope, `collect` splits the subscriptions across worker
processes (`CollectOptions.collect_processes`):

- **A subscription stays in one process.** ARM paces each principal per subscription, so each
  worker keeps its own limiter for its own subscriptions, and the pacing is what one process
  would keep. The requests in flight in all (`concurrency`; by default 8 per subscription, at
  most 64 per worker) are split across the workers in proportion to their subscriptions; the
  cap per subscription is unchanged.
- **No secret leaves this process but over a private socket.** A worker is started with the
  number of an inherited socket and nothing else on its command line, and the environment it
  inherits; its job (the options, without the credential) and every token it needs come over
  that socket: the worker asks, this process answers from its own credential. A credential that
  cannot get a token is found here, before any worker starts (exit 2, one line).
- **Results are put together as one run would have them.** Each worker sends what it stored and
  its coverage records when it is done; the resources are keyed by id and the records sorted as
  ever, and the child types that no parent brought are recorded once, over all the workers.
- **Fail closed.** A worker that ends without its results (it crashed, or was killed) leaves
  every read of its subscriptions failed (`CollectionProcessLost`), never a shorter inventory;
  a worker still running past the deadline is stopped and its reads are failed
  (`DeadlineExceeded`). Each worker keeps the deadline itself as one process would.
- **Progress** (requests, resources found, subscriptions done) is relayed to this process's
  display.

The messages are pickled Python objects, each preceded by its length, on a socket pair that
only this process and the worker hold.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from prodcheck.collect.bounds import Deadline, ReadStopped
from prodcheck.collect.options import CollectOptions
from prodcheck.collect.progress import Progress
from prodcheck.heap import own_peak_kib

# Seconds a worker may take, past the deadline, to send what it collected.
RESULT_GRACE = 10.0
_HEADER = struct.Struct("!Q")


class CollectionProcessLost(ReadStopped):
    code = "CollectionProcessLost"


class Channel:
    """Length-prefixed pickled messages over a connected socket; `send` is thread-safe."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader = sock.makefile("rb")
        self._send_lock = threading.Lock()

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self.sock.sendall(_HEADER.pack(len(data)) + data)

    def receive(self) -> Any | None:
        """The next message, or None when the other end has gone."""
        try:
            header = self._reader.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return None
            (size,) = _HEADER.unpack(header)
            data = self._reader.read(size)
            if len(data) < size:
                return None
            return pickle.loads(data)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.close()
        with contextlib.suppress(OSError):
            self.sock.close()


def partition(subscriptions: list[str], processes: int) -> list[list[str]]:
    """The subscriptions of each worker: dealt in turn, so their numbers differ by one at most."""
    return [subscriptions[i::processes] for i in range(processes) if subscriptions[i::processes]]


def split(total: int, sizes: list[int]) -> list[int]:
    """`total` (requests in flight) shared in proportion to `sizes` (subscriptions), at least
    1 each, summing to `total` when it allows (largest remainders get the rest)."""
    whole = sum(sizes)
    shares = [total * n / whole for n in sizes]
    out = [max(1, int(s)) for s in shares]
    order = sorted(range(len(sizes)), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in order:
        if sum(out) >= total:
            break
        out[i] += 1
    return out


def _worker_command(fd: int) -> list[str]:
    return [sys.executable, "-m", "prodcheck.collect.worker", str(fd)]


def _spawn(fd: int) -> subprocess.Popen[bytes]:
    """Start one worker holding the socket `fd`: nothing else on its command line."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return subprocess.Popen(
        _worker_command(fd),
        pass_fds=(fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env=env,
        close_fds=True,
    )


class _Worker:
    """This process's side of one worker: it answers token requests, relays progress and
    keeps the results."""

    def __init__(
        self, subscriptions: list[str], credential: Any, progress: Progress, tally: _Tally
    ) -> None:
        self.subscriptions = subscriptions
        self.credential = credential
        self.progress = progress
        self.tally = tally
        ours, theirs = socket.socketpair()
        self.channel = Channel(ours)
        try:
            self.process = _spawn(theirs.fileno())
        except OSError as exc:
            self.channel.close()
            from prodcheck.errors import UserError

            raise UserError(
                f"could not start a collecting process ({exc.strerror or exc}): "
                "collect in this process with --collect-processes 1"
            ) from None
        finally:
            theirs.close()
        self.result: dict[str, Any] | None = None
        self.reader = threading.Thread(target=self._read, name="prodcheck-worker", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            message = self.channel.receive()
            if message is None or not isinstance(message, tuple) or not message:
                return
            kind = message[0]
            if kind == "token":
                self._token(message[1], message[2])
            elif kind == "progress":
                _, requests, found, done = message
                self.tally.update(self, requests, found, done)
            elif kind == "result":
                self.result = message[1]
                return

    def _token(self, scopes: tuple[str, ...], kwargs: dict[str, Any]) -> None:
        try:
            token = self.credential.get_token(*scopes, **kwargs)
            reply: tuple[Any, ...] = ("token", str(token.token), int(token.expires_on))
        except Exception as exc:
            from prodcheck.collect.auth import one_line

            reply = ("token-error", type(exc).__name__, one_line(str(exc)))
        with contextlib.suppress(OSError):
            self.channel.send(reply)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        self.channel.close()


class _Tally:
    """The workers' progress, added up on this process's display."""

    def __init__(self, progress: Progress, stats: Any) -> None:
        self.progress = progress
        self.stats = stats
        self._lock = threading.Lock()
        self._requests: dict[int, int] = {}

    def update(self, worker: _Worker, requests: int, found: dict[str, int], done: int) -> None:
        with self._lock:
            self._requests[id(worker)] = requests
            total = sum(self._requests.values()) + self.stats.requests
        for service, count in found.items():
            self.progress.found(service, count)
        for _ in range(done):
            self.progress.subscription_done()
        self.progress.requests(total)


def collect_in_processes(
    options: CollectOptions,
    needs: list[str],
    plan: Any,
    subscriptions: list[str],
    processes: int,
    credential: Any,
    deadline: Deadline,
    progress: Progress,
    stats: Any,
    graph: bool,
) -> Any:
    """Collect `subscriptions` with `processes` workers and put their results together (see
    the module's doc). `stats` counts the requests this process made before (one per
    subscription checked): each worker's limiter starts with them spent."""
    from prodcheck.collect.engine import (
        Merged,
        empty_child_records,
        failed_records,
        listing_scopes,
        metrics_timespan,
    )

    shares = partition(subscriptions, processes)
    total, cap = options.caps(len(subscriptions), processes)
    concurrency = split(total, [len(s) for s in shares])
    groups = list(dict.fromkeys(options.resource_groups))
    fields = {
        f.name: getattr(options, f.name)
        for f in dataclasses.fields(options)
        if f.name not in ("credential", "subscriptions", "all_subscriptions", "management_group")
    }
    fields["exclude_subscriptions"] = []
    timespan = metrics_timespan(options.metrics_window)
    spent = 0 if options.all_subscriptions or options.management_group else 1
    tally = _Tally(progress, stats)
    workers: list[_Worker] = []
    try:
        for share, flight in zip(shares, concurrency, strict=True):
            worker = _Worker(share, credential, progress, tally)
            workers.append(worker)
            worker_options = dict(
                fields,
                subscriptions=share,
                concurrency=flight,
                subscription_concurrency=min(cap, flight),
                collect_processes=1,
                deadline=None if options.deadline is None else max(deadline.remaining(), 1e-3),
                tenant=None,  # this process's credential asks for the tenant's token
            )
            job = {
                "options": worker_options,
                "needs": needs,
                "graph": graph,
                "metricsTimespan": timespan,
                "spent": {s: spent for s in share},
                "progress": progress.enabled,
            }
            worker.channel.send(("job", job))
        _wait(workers, deadline, options)
    finally:
        for worker in workers:
            if worker.result is None:
                worker.stop()
        for worker in workers:
            worker.close()

    resources: dict[str, dict[str, Any]] = {}
    coverage: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    merged = Merged(resources, coverage, None)
    for worker in workers:
        result = worker.result
        if result is None:
            scopes = listing_scopes(worker.subscriptions, groups)
            late = deadline.expired()
            why: BaseException = (
                deadline.exceeded("the process collecting these subscriptions sent its results")
                if late
                else CollectionProcessLost(
                    "the process collecting this subscription ended without its results "
                    f"(exit code {worker.process.returncode}): nothing it read is kept"
                )
            )
            collectors = list(plan.top) + _children(plan)
            coverage += failed_records(collectors, scopes, why, options)
            print(
                f"prodcheck: the process collecting {len(worker.subscriptions)} "
                + ("subscription" if len(worker.subscriptions) == 1 else "subscriptions")
                + (
                    " did not finish by the deadline"
                    if late
                    else f" ended without its results (exit code {worker.process.returncode})"
                )
                + "; their reads are reported as failed",
                file=sys.stderr,
            )
            continue
        for key, item in result["resources"].items():
            resources.setdefault(key, item)
        coverage += result["coverage"]
        merged.requests += result["requests"]
        merged.throttled += result["throttled"]
        merged.limiter_waited += result["limiterWaited"]
        merged.graph_queries += result["graphQueries"]
        merged.worker_peak_rss_kib.append(int(result.get("peakRssKiB", 0)))
        if result["graph"] is not None:
            summaries.append(result["graph"])
    # Every scope of a worker stopped at the deadline, or lost, has a failed record of every
    # child type already: this adds nothing there.
    coverage += empty_child_records(plan, coverage, listing_scopes(subscriptions, groups))
    if summaries:
        merged.graph = merge_graph_summaries(summaries)
    return merged


def _children(plan: Any) -> list[Any]:
    from prodcheck.collect.engine import _child_collectors

    return _child_collectors(plan)


def _wait(workers: list[_Worker], deadline: Deadline, options: CollectOptions) -> None:
    """Until every worker has sent its results or ended (its reader then reads to the end of
    the socket); past the deadline and the time to send results, the rest are stopped."""
    for worker in workers:
        while worker.reader.is_alive():
            wait = 1.0
            if options.deadline is not None:
                left = deadline.remaining() + RESULT_GRACE
                if left <= 0:
                    return
                wait = min(left, wait)
            worker.reader.join(wait)


def merge_graph_summaries(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The `scope.resourceGraph` of several workers' listings as one."""
    out: dict[str, Any] = {
        "types": sorted({t for s in summaries for t in s.get("types", [])}),
        "scopes": sum(int(s.get("scopes", 0)) for s in summaries),
        "queries": sum(int(s.get("queries", 0)) for s in summaries),
        "rows": sum(int(s.get("rows", 0)) for s in summaries),
        "lag": summaries[0].get("lag", ""),
    }
    queried = sorted(s["queriedAt"] for s in summaries if s.get("queriedAt"))
    if queried:
        out["queriedAt"] = queried[0]
    fallbacks = [f for s in summaries for f in s.get("fallbacks", [])]
    if fallbacks:
        out["fallbacks"] = fallbacks[:20]
    return out


# --------------------------------------------------------------------------- the worker's side


class ParentCredential:
    """A TokenCredential that asks the parent process for each token over the channel."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken
        from azure.core.exceptions import ClientAuthenticationError

        plain = {k: v for k, v in kwargs.items() if isinstance(v, str | bool | int | type(None))}
        with self._lock:
            self._channel.send(("token", tuple(scopes), plain))
            reply = self._channel.receive()
        if not isinstance(reply, tuple) or not reply:
            raise ClientAuthenticationError("the collecting process's parent has gone")
        if reply[0] == "token":
            return AccessToken(reply[1], reply[2])
        raise ClientAuthenticationError(f"{reply[1]}: {reply[2]}")


class RelayProgress:
    """The worker's progress, sent to the parent every quarter of a second."""

    def __init__(self, channel: Channel, enabled: bool) -> None:
        self.enabled = enabled
        self._channel = channel
        self._lock = threading.Lock()
        self._requests = 0
        self._found: dict[str, int] = {}
        self._done = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.enabled:
            self._thread = threading.Thread(target=self._relay, daemon=True)
            self._thread.start()

    def _relay(self) -> None:
        while not self._stopping.wait(0.25):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            found, done = self._found, self._done
            self._found, self._done = {}, 0
            requests = self._requests
        with contextlib.suppress(OSError):
            self._channel.send(("progress", requests, found, done))

    def found(self, service: str, count: int = 1) -> None:
        if self.enabled:
            with self._lock:
                self._found[service] = self._found.get(service, 0) + count

    def subscriptions(self, total: int) -> None:
        pass

    def subscription_done(self) -> None:
        if self.enabled:
            with self._lock:
                self._done += 1

    def requests(self, total: int) -> None:
        self._requests = total

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self.flush()


def _watch_parent(parent: int) -> None:
    """End this worker when the process that started it is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(3)


def worker_main(fd: int) -> None:
    """A worker: read the job, collect its subscriptions, send the results, end."""
    import signal

    # Ctrl-C reaches every process of the terminal's group: the parent stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = Channel(socket.socket(fileno=fd))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    message = channel.receive()
    if not isinstance(message, tuple) or len(message) != 2 or message[0] != "job":
        os._exit(2)
    try:
        _work(channel, message[1])
    except Exception as exc:
        # The parent records this worker's subscriptions as failed reads. No traceback: its
        # message may carry text from an ARM answer; the kind of error is enough to say here.
        sys.stderr.write(f"prodcheck: a collecting process stopped on {type(exc).__name__}\n")
        sys.stderr.flush()
        os._exit(1)


def _work(channel: Channel, job: Any) -> None:
    """Collect `job`'s subscriptions and send the results over `channel`, then end."""
    from prodcheck.collect.auth import CachedCredential
    from prodcheck.collect.clients import Clients, RequestStats
    from prodcheck.collect.engine import Plan, Run, _quiet_sdk_logging
    from prodcheck.collect.limiter import RateLimiter

    _quiet_sdk_logging()
    options = CollectOptions(**job["options"])
    cloud = options.resolved_cloud()
    credential = CachedCredential(ParentCredential(channel))
    deadline = Deadline(options.deadline)
    stats = RequestStats()
    limiter = RateLimiter(
        options.rate_limit, options.rate_burst, max_pause=max(options.max_retry_after, 0.0)
    )
    for subscription, spent in job["spent"].items():
        for _ in range(spent):
            limiter.acquire(subscription)
    clients = Clients(credential, cloud, options, limiter, stats, deadline)
    progress = RelayProgress(channel, job["progress"])
    run = Run(
        options,
        Plan(job["needs"]),
        clients,
        stats,
        progress,  # type: ignore[arg-type]
        list(options.subscriptions),
        deadline,
        limiter,
        resource_graph=job["graph"],
    )
    run.metrics_timespan = job["metricsTimespan"]
    progress.start()
    try:
        run.run(fill=False)
    finally:
        progress.stop()
    with run._lock:
        result = {
            "resources": dict(run.resources),
            "coverage": list(run.coverage),
            "graph": None if run.graph is None else run.graph.summary(),
            "requests": stats.requests,
            "throttled": stats.throttled,
            "limiterWaited": limiter.waited,
            "graphQueries": clients.graph_quota.queries,
            "stopped": run.stopped,
            "peakRssKiB": own_peak_kib(),
        }
    channel.send(("result", result))
    with contextlib.suppress(Exception):
        clients.close()
    channel.close()
    sys.stderr.flush()
    os._exit(0)
