"""The Lambda Runtime API as a function sees it, and a function process running against it.

Each function process gets its own emulator on a free loopback port: /invocation/next hands
out the queued events, the function's response (or error) is recorded with the time it arrived,
which is what the bench's latencies end on.
"""
import json
import os
import queue
import re
import shlex
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .env import LOGS, function_env, host_binary
from .events import parse_response
from .proc import CHILDREN

RUNTIME_API = "/2018-06-01/runtime"


class RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Runtime API as a function sees it: /next hands out events, the rest records results."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API
    # TCP_NODELAY: an answer written in parts must not wait for the function's delayed ACK.
    disable_nagle_algorithm = True
    emulator = None  # set by RuntimeEmulator

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != f"{RUNTIME_API}/invocation/next":
            return self.reply(404, b'{"errorType":"NotFound"}')
        self.emulator.polled(time.perf_counter_ns())
        item = self.emulator.next_event()
        if item is None:
            return self.reply(410, b'{"errorType":"ShuttingDown"}')
        request_id, body = item
        self.reply(200, body, {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
            "Lambda-Runtime-Invoked-Function-Arn":
                f"arn:aws:lambda:us-east-1:123456789012:function:{self.emulator.function_name}",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
        })

    def do_POST(self):
        body = self.read_body()
        received_ns = time.perf_counter_ns()
        match = re.fullmatch(rf"{RUNTIME_API}/invocation/([^/]+)/(response|error)", self.path)
        if match:
            self.emulator.record(match.group(1), match.group(2), body, received_ns)
        elif self.path == f"{RUNTIME_API}/init/error":
            self.emulator.record(None, "init-error", body, received_ns)
        else:
            return self.reply(404, b'{"errorType":"NotFound"}')
        self.reply(202, b'{"status":"OK"}')

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed function leaves a broken connection behind: expected


class RuntimeEmulator:
    """One Runtime API endpoint on a free loopback port, for one function process."""

    def __init__(self, function_name, on_first_poll=None):
        self.function_name = function_name
        self.on_first_poll = on_first_poll
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.first_poll_ns = None
        self.closed = False
        handler = type("Handler", (RuntimeApiHandler,), {"emulator": self})
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self):
        self.closed = True
        self.server.shutdown()
        self.server.server_close()

    def polled(self, at_ns):
        if self.first_poll_ns is None:
            self.first_poll_ns = at_ns
            if self.on_first_poll:
                self.on_first_poll()

    def next_event(self):
        while not self.closed:
            try:
                return self.events.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def record(self, request_id, kind, body, received_ns):
        self.results.put((request_id, kind, body, received_ns))

    def enqueue(self, event):
        request_id = str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode()))
        return request_id

    def wait_result(self, request_id, process, seconds=30):
        """The function's response to the event, or an error naming what it reported."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got_id, kind, body, received_ns = self.results.get(timeout=0.05)
            except queue.Empty:
                if process.poll() is not None:
                    raise RuntimeError(f"{self.function_name} exited with status {process.returncode}")
                continue
            if kind != "response":
                raise RuntimeError(f"{self.function_name} reported {kind}: {body[:500]!r}")
            if got_id == request_id:
                return parse_response(body, received_ns)
        raise RuntimeError(f"{self.function_name} did not answer within {seconds} s")


class FunctionProcess:
    """A function's host binary running against its own Runtime API emulator, spawned with
    the first event already waiting, as in a cold start. With a `shape` (--as-lambda,
    lambda_mode.LambdaShape): its memory size, CPU share and DynamoDB over TLS."""

    def __init__(self, function_name, first_event=None, shape=None):
        self.function_name = function_name
        self.quota = shape.quota(function_name) if shape else None
        after_init = (lambda: shape.after_init(function_name, self.quota)) if shape else None
        self.emulator = RuntimeEmulator(function_name, on_first_poll=after_init)
        self.first_request_id = self.emulator.enqueue(first_event) if first_event else None
        if shape:
            env = function_env(function_name, self.emulator.address, shape.memory_of(function_name),
                               shape.env(function_name))
        else:
            env = function_env(function_name, self.emulator.address)
        log_path = LOGS / f"{function_name}.log"
        # BENCH_WRAP (e.g. "perf record -g -o /tmp/token.perf") runs the binary under a profiler.
        wrap = shlex.split(os.environ.get("BENCH_WRAP", ""))
        # A throttled init must be in its cgroup from the first instruction: moved there between
        # fork and exec (a preexec_fn makes Python fork, slower than its default spawn, which the
        # init figure then includes). An unthrottled init can be moved in once started.
        throttled_init = shape and not shape.init_full_cpu
        preexec = self.quota.enter_fn() if throttled_init else None
        self.spawned_ns = time.perf_counter_ns()
        self.process = CHILDREN.start([*wrap, str(host_binary(function_name))], log_path, env=env,
                                      preexec_fn=preexec)
        if self.quota and not throttled_init:
            self.quota.add(self.process.pid)

    def first_response(self):
        return self.emulator.wait_result(self.first_request_id, self.process)

    def invoke(self, event):
        request_id = self.emulator.enqueue(event)
        return self.emulator.wait_result(request_id, self.process)

    def close(self):
        CHILDREN.stop(self.process)
        self.emulator.close()
        if self.quota:
            self.quota.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
