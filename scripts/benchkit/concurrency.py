"""Throughput of one function process with several invocations in flight (issue 16.5).

Lambda Managed Instances set AWS_LAMBDA_MAX_CONCURRENCY in the execution environment, and a
function built on `lambda::run_concurrent` then polls the Runtime API with that many workers
at once; Lambda's default capacity never sets it, and the function answers one invocation at a
time. This measures what that is worth per instance: one host release binary against a Runtime
API emulator that keeps K invocations outstanding (K = the setting, as the Managed Instances
router sends an environment at most that many), under a CFS quota of the vCPUs the process would
have (benchkit.cgroup), against moto's DynamoDB answers replayed at a fixed latency
(ReplayDynamo), or against moto itself.

    throughput  completed invocations / the time from the first to the last of them, after a
                warm-up; a closed loop: each answer lets the next invocation in
    latency     enqueued -> the function's answer posted (the emulator hands an event out at
                once: there is always a worker polling)
    CPU/request the process's CPU time over the measured invocations / their number
                (/proc/<pid>/task/*/schedstat)
"""
import asyncio
import json
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field

from fault_proxy import table_names  # scripts/fault_proxy.py: the tables a request names

from .env import LOGS, function_env, host_binary
from .events import parse_response
from .flow import CodeMint, expect
from .measure import cpu_ns_schedstat, median, ms, p95, peak_rss_kb
from .proc import CHILDREN, log
from .runtime_api import QuietServer, RuntimeApiHandler, RuntimeEmulator
from .stack import empty_growing_tables


@dataclass
class Setting:
    """One configuration of the process: AWS_LAMBDA_MAX_CONCURRENCY (None: unset) and its CPU."""

    label: str
    max_concurrency: object  # int or None
    vcpus: object  # float or None (no quota)
    as_deployed: bool = False  # the vCPU share of the function's MemorySize on Lambda's default capacity
    offered: int = 0  # invocations outstanding if not the setting (Lambda sending more than it polls for)

    def vcpus_for(self, flow):
        return flow.memory_mb / 1769 if self.as_deployed else self.vcpus

    @property
    def outstanding(self):
        return self.offered or max(1, self.max_concurrency or 1)


@dataclass
class Flow:
    """A labelled request of one function, and how many invocations of it make a run."""

    label: str
    function: str
    status: int
    events: object  # callable(count) -> list of events
    requests: int  # measured invocations per run
    memory_mb: int  # template.yaml's MemorySize
    warmup: int = 8


@dataclass
class Result:
    flow: Flow
    setting: Setting
    replay_ms: object  # None: moto itself; a number: ReplayDynamo at that latency
    vcpus: object = None  # the quota it ran under
    latencies_ns: list = field(default_factory=list)
    elapsed_ns: int = 0
    cpu_ns: int = 0
    throttled_ns: int = 0
    bench_cpu_ns: int = 0  # the bench's own CPU (emulator, DynamoDB stand-in) meanwhile
    peak_rss_kb: int = 0
    errors: int = 0

    def requests_per_second(self):
        return len(self.latencies_ns) / (self.elapsed_ns / 1e9) if self.elapsed_ns else 0.0

    def p50_ms(self):
        return ms(median(self.latencies_ns))

    def p95_ms(self):
        return ms(p95(self.latencies_ns))

    def cpu_ms_per_request(self):
        return ms(self.cpu_ns / max(1, len(self.latencies_ns)))

    def cpu_bound_ceiling(self):
        """Requests/s the quota would allow if the function's own CPU were the only limit."""
        per_request = self.cpu_ns / max(1, len(self.latencies_ns))
        if not per_request or not self.vcpus:
            return None
        return self.vcpus * 1e9 / per_request


class LoadEmulator(RuntimeEmulator):
    """The Runtime API emulator on a given port, keeping `outstanding` invocations in flight:
    each answer recorded enqueues the next event, until the events run out."""

    def __init__(self, function_name, port):
        # RuntimeEmulator.__init__ binds a free port; the bench's ports are chosen here.
        self.function_name = function_name
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.first_poll_ns = None
        self.closed = False
        # TCP_NODELAY: http.server writes a reply's headers and body separately, and with
        # Nagle's algorithm the body then waits for the function's delayed ACK (up to 40 ms)
        # whenever several connections are busy at once.
        handler = type("Handler", (RuntimeApiHandler,), {"emulator": self, "disable_nagle_algorithm": True})
        self.server = QuietServer(("127.0.0.1", port), handler)
        self.address = f"127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        self.lock = threading.Lock()
        self.pending = []
        self.enqueued_ns = {}
        self.answers = {}  # request id -> (kind, body, received_ns)
        self.done = threading.Event()
        self.expected = 0

    def start_load(self, events, outstanding):
        with self.lock:
            self.pending = list(events)
            self.expected = len(events)
            self.done.clear()
            first, self.pending = self.pending[:outstanding], self.pending[outstanding:]
        for event in first:
            self._send(event)

    def _send(self, event):
        request_id = str(uuid.uuid4())
        with self.lock:
            self.enqueued_ns[request_id] = time.perf_counter_ns()
        self.events.put((request_id, json.dumps(event).encode()))

    def record(self, request_id, kind, body, received_ns):
        following = None
        with self.lock:
            self.answers[request_id] = (kind, body, received_ns)
            if self.pending:
                following = self.pending.pop(0)
            if len(self.answers) >= self.expected:
                self.done.set()
        if following is not None:
            self._send(following)

    def take(self):
        """The answers of the load so far: (enqueued_ns, kind, body, received_ns), in the order
        they arrived."""
        with self.lock:
            taken = [(self.enqueued_ns[rid], *answer) for rid, answer in self.answers.items()]
            self.answers, self.enqueued_ns = {}, {}
        return sorted(taken, key=lambda item: item[3])


class ReplayDynamo:
    """DynamoDB at a fixed latency and next to no CPU: an HTTP/1.1 server that forwards each
    kind of call (its X-Amz-Target and tables) to moto the first time, keeps moto's successful
    answer and, from then on, answers that kind of call with it after `latency_ms`, without
    moto. moto costs several milliseconds of Python per call, on the same two cores as the
    function: behind it, what a run measures is moto's throughput, not the function's.

    The answers replayed are moto's own, so the function parses and judges what it would: the
    same session, consent and code, a code redemption that succeeds, a first sign-in attempt.
    State does not move (the same code redeems every time): the function's work is measured,
    not the protocol. Errors are forwarded, never kept."""

    def __init__(self, listen_port, target_port, latency_ms):
        self.listen_port, self.target_port, self.latency = listen_port, target_port, latency_ms / 1000
        self.kept = {}
        self.forwarded = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError(f"the DynamoDB stand-in did not start on port {listen_port}")

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.listen_port))
        ready.set()
        self.loop.run_forever()

    @staticmethod
    async def _read_message(reader):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
        named = {name.lower(): value for name, value in headers}
        if named.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                body += await reader.readexactly(size)
                await reader.readline()
        else:
            body = await reader.readexactly(int(named.get("content-length", 0)))
        kept = [(n, v) for n, v in headers if n.lower() not in ("transfer-encoding", "content-length")]
        return lines[0], kept, named, body

    @staticmethod
    def _message(start, headers, body):
        lines = [start, *(f"{n}: {v}" for n, v in headers), f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode("latin-1") + body

    @staticmethod
    def _kind(named, body):
        try:
            tables = set(table_names(json.loads(body or b"{}")))
        except ValueError:
            return None
        return named.get("x-amz-target", "") + ":" + ",".join(sorted(tables))

    async def _client(self, reader, writer):
        upstream = None
        try:
            while True:
                try:
                    start, headers, named, body = await self._read_message(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                kind = self._kind(named, body)
                if kind in self.kept:
                    await asyncio.sleep(self.latency)
                    writer.write(self.kept[kind])
                    await writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
                upstream[1].write(self._message(start, headers, body))
                await upstream[1].drain()
                status, answer_headers, _, answer = await self._read_message(upstream[0])
                message = self._message(status, answer_headers, answer)
                self.forwarded += 1
                if kind and status.split()[1:2] == ["200"]:
                    self.kept[kind] = message
                writer.write(message)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            if upstream is not None:
                upstream[1].close()

    def close(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def sign_in_events(flow):
    """Sign-ins of the bench user, each from its own address: the source limit (5 attempts of
    one account from one network in flight, docs/security.md) would refuse the sixth of many
    concurrent sign-ins from one address, which is what it is for."""
    counter = iter(range(1, 1 << 30))

    def events(count):
        made = []
        for _ in range(count):
            n = next(counter)
            event = flow.sign_in_event()
            event["requestContext"]["http"]["sourceIp"] = f"198.18.{(n >> 8) & 255}.{n & 255}"
            made.append(event)
        return made
    return events


def flows(flow, mint, requests, sign_ins):
    return {
        "token": Flow("token (code exchange)", "token", 200,
                      lambda count: [flow.token_event(code) for code in mint.codes(count)], requests, 256),
        "authorize": Flow("authorize", "authorize", 302,
                          lambda count: [flow.authorize_event() for _ in range(count)], requests, 128),
        "login": Flow("login (sign-in)", "login", 303, sign_in_events(flow), sign_ins, 1024, warmup=4),
    }


def measure_concurrency(flow, settings, requests=200, sign_ins=48, rounds=1, only=None,
                        port=9720, replay_ms=None, dynamo_port=None, binaries=None, proxy_port=8711):
    """Every flow under every setting, `rounds` times round-robin; a list of Results.
    `binaries`: function name -> binary (default: the host release build)."""
    from . import cgroup  # needs a writable cgroup; imported here so that the rest works without

    mint = CodeMint(flow)
    proxy = ReplayDynamo(proxy_port, dynamo_port, replay_ms) if replay_ms is not None else None
    try:
        chosen = {k: v for k, v in flows(flow, mint, requests, sign_ins).items() if not only or k in only}
        results = []
        for round_number in range(1, rounds + 1):
            for name, measured in chosen.items():
                for setting in settings:
                    log(f"round {round_number}/{rounds}: {measured.label}, {setting.label}")
                    binary = (binaries or {}).get(name) or host_binary(measured.function)
                    endpoint = f"http://127.0.0.1:{proxy_port}" if proxy else None
                    results.append(run_one(measured, setting, binary, port, endpoint, replay_ms, cgroup))
        return merge(results)
    finally:
        mint.close()
        if proxy:
            proxy.close()


def run_one(measured, setting, binary, port, endpoint, replay_ms, cgroup):
    if endpoint is None:
        empty_growing_tables()
    events = measured.events(measured.warmup + measured.requests)
    emulator = LoadEmulator(measured.function, port)
    env = function_env(measured.function, emulator.address)
    if endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    if setting.max_concurrency is not None:
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(setting.max_concurrency)
    vcpus = setting.vcpus_for(measured)
    quota = cgroup.CpuQuota(vcpus) if vcpus else None
    result = Result(measured, setting, replay_ms, vcpus=vcpus)
    process = None
    try:
        kwargs = {"preexec_fn": quota.enter_fn()} if quota else {}
        process = CHILDREN.start([str(binary)], LOGS / f"{measured.function}-concurrency.log", env=env, **kwargs)
        # Warm-up: the connections, the caches and the signing key, at the same concurrency.
        emulator.start_load(events[:measured.warmup], setting.outstanding)
        wait_done(emulator, process, measured)
        check(emulator.take(), measured, result)
        pid = process.pid
        cpu_before = cpu_ns_schedstat(pid)
        throttled_before = quota.throttled_ns() if quota else 0
        started = time.perf_counter_ns()
        bench_before = own_cpu_ns()
        emulator.start_load(events[measured.warmup:], setting.outstanding)
        wait_done(emulator, process, measured)
        answers = emulator.take()
        result.bench_cpu_ns = own_cpu_ns() - bench_before
        result.cpu_ns = cpu_ns_schedstat(pid) - cpu_before
        result.throttled_ns = (quota.throttled_ns() if quota else 0) - throttled_before
        result.peak_rss_kb = peak_rss_kb(pid)
        result.elapsed_ns = answers[-1][3] - started
        result.latencies_ns = [received - enqueued for enqueued, _, _, received in answers]
        result.errors = check(answers, measured, result)
        return result
    finally:
        if process is not None:
            CHILDREN.stop(process)
        emulator.close()
        if quota:
            quota.close()


def own_cpu_ns():
    times = os.times()
    return int((times.user + times.system) * 1e9)


def wait_done(emulator, process, measured, seconds=300):
    deadline = time.monotonic() + seconds
    while not emulator.done.wait(0.1):
        if process.poll() is not None:
            raise RuntimeError(f"{measured.function} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{measured.function} did not answer the load within {seconds} s")


def check(answers, measured, result):
    """The answers that are not the expected response; the first one stops the bench."""
    for _, kind, body, received_ns in answers:
        if kind != "response":
            raise RuntimeError(f"{measured.function} reported {kind}: {body[:300]!r}")
        expect(parse_response(body, received_ns), measured.status, measured.label)
    return 0


def merge(results):
    """Runs of the same flow and setting as one result (their latencies pooled, rates summed)."""
    merged = {}
    for r in results:
        key = (r.flow.label, r.setting.label)
        if key not in merged:
            merged[key] = r
            continue
        m = merged[key]
        m.latencies_ns += r.latencies_ns
        m.elapsed_ns += r.elapsed_ns
        m.cpu_ns += r.cpu_ns
        m.throttled_ns += r.throttled_ns
        m.bench_cpu_ns += r.bench_cpu_ns
        m.peak_rss_kb = max(m.peak_rss_kb, r.peak_rss_kb)
    return list(merged.values())


def quota_text(vcpus):
    return "none" if not vcpus else f"{vcpus:.3g} vCPU"


def section(results, command=None):
    """The Markdown section of the report: one row per flow and setting."""
    if not results:
        return ""
    replay = results[0].replay_ms
    lines = [
        "### Concurrency per instance (Lambda Managed Instances)",
        "",
        "One host release process against the Runtime API emulator, K invocations outstanding",
        "(K = AWS_LAMBDA_MAX_CONCURRENCY, 1 when unset), under a CFS quota of the vCPUs the",
        "process would have; DynamoDB: "
        + (f"moto's answers replayed {replay:g} ms after each call (benchkit.concurrency.ReplayDynamo)."
           if replay is not None else "moto itself on loopback (its own CPU is the limit).")
        + (f" `{command}`." if command else ""),
        "",
        "| Function | AWS_LAMBDA_MAX_CONCURRENCY | Quota | Requests | Requests/s | p50 ms | p95 ms "
        "| CPU ms/request | CPU-bound ceiling req/s | Throttled ms | Bench CPU % | Peak RSS MB |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        ceiling = r.cpu_bound_ceiling()
        lines.append(
            f"| {r.flow.label} | {r.setting.max_concurrency or 'unset'}"
            f"{f' ({r.setting.offered} sent at once)' if r.setting.offered else ''} | {quota_text(r.vcpus)} "
            f"| {len(r.latencies_ns)} | {r.requests_per_second():.1f} | {r.p50_ms():.1f} | {r.p95_ms():.1f} "
            f"| {r.cpu_ms_per_request():.2f} | {'' if ceiling is None else f'{ceiling:.0f}'} "
            f"| {ms(r.throttled_ns):.0f} | {100 * r.bench_cpu_ns / max(1, r.elapsed_ns):.0f} "
            f"| {r.peak_rss_kb / 1024:.1f} |")
    lines += ["", "CPU-bound ceiling: the quota divided by the function's own CPU per request, the rate "
              "no setting can pass on that CPU; what stays below it is waiting (DynamoDB, the "
              "emulator, the quota's periods). Throttled: CPU time the quota withheld during the measured "
              "invocations (cgroup cpu.stat). Bench CPU: the bench process's own CPU (Runtime API "
              "emulator, DynamoDB stand-in; one Python interpreter, so about 100 % at most) over the "
              "run's time; near 100 %, the bench, not the function, sets the pace.", ""]
    return "\n".join(lines)


def settings_for(spec, vcpus, as_deployed=False):
    """'unset,4,16' -> Settings under `vcpus` each; `as_deployed` adds the setting of Lambda's
    default capacity first: unset, under the vCPU share of the function's MemorySize."""
    made = [Setting("unset @ MemorySize", None, None, as_deployed=True)] if as_deployed else []
    for item in spec.split(","):
        item = item.strip()
        setting, _, offered = item.partition(":")  # "unset:4": unset, 4 outstanding all the same
        value = None if setting in ("unset", "") else int(setting)
        made.append(Setting(f"{item} @ {quota_text(vcpus)}", value, vcpus, offered=int(offered or 0)))
    return made



@dataclass
class ColdStart:
    binary: str
    size: int
    init_ms: list
    first_response_ms: list


def measure_cold_starts(flow, binaries, runs=10, port=9720):
    """Cold starts of token's code exchange for each binary, alternating, under the vCPU share of
    its MemorySize (as on Lambda's default capacity), AWS_LAMBDA_MAX_CONCURRENCY unset: spawn ->
    its first poll of /next (init), spawn -> its first answer posted."""
    from . import cgroup

    mint = CodeMint(flow)
    try:
        measured = flows(flow, mint, 1, 1)["token"]
        starts = [ColdStart(str(b), os.path.getsize(b), [], []) for b in binaries]
        for _ in range(runs):
            for start in starts:
                empty_growing_tables()
                event = measured.events(1)[0]
                emulator = LoadEmulator(measured.function, port)
                quota = cgroup.CpuQuota(measured.memory_mb / 1769)
                process = None
                try:
                    emulator.start_load([event], 1)
                    spawned = time.perf_counter_ns()
                    process = CHILDREN.start([start.binary], LOGS / "token-cold.log",
                                             env=function_env(measured.function, emulator.address),
                                             preexec_fn=quota.enter_fn())
                    wait_done(emulator, process, measured)
                    answers = emulator.take()
                    check(answers, measured, None)
                    start.init_ms.append(ms(emulator.first_poll_ns - spawned))
                    start.first_response_ms.append(ms(answers[0][3] - spawned))
                finally:
                    if process is not None:
                        CHILDREN.stop(process)
                    emulator.close()
                    quota.close()
        return starts
    finally:
        mint.close()


def cold_start_section(starts):
    lines = ["| Binary | Size (bytes) | Init p50 ms | First response p50 ms | Runs |", "|---|--:|--:|--:|--:|"]
    for s in starts:
        lines.append(f"| {s.binary} | {s.size} | {median(s.init_ms):.1f} | {median(s.first_response_ms):.1f} "
                     f"| {len(s.init_ms)} |")
    return "\n".join(lines) + "\n"
