"""The processes the bench starts, ports and commands.

Everything started goes through CHILDREN, so that scripts/bench stops all of it on the way
out (atexit, SIGTERM, Ctrl-C), whatever failed in between.
"""
import socket
import subprocess
import sys
import time

from .env import ROOT


def log(message):
    print(f"\033[1m==> {time.strftime('%H:%M:%S')} {message}\033[0m", file=sys.stderr, flush=True)


def die(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


class Children:
    """Every process the bench starts, so that all of them are stopped on the way out."""

    def __init__(self):
        self.processes = []

    def start(self, args, log_path, env=None, **kwargs):
        log_file = open(log_path, "ab")
        process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.DEVNULL, **kwargs)
        log_file.close()
        self.processes.append(process)
        return process

    def stop(self, process):
        if process.poll() is None:
            process.kill()
        process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self):
        for process in list(self.processes):
            self.stop(process)


CHILDREN = Children()


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    die(f"{what} did not start on port {port} within {seconds} s")


def run(args, **kwargs):
    """Runs a command to completion; its output goes to our stderr, so stdout stays the report."""
    subprocess.run(args, check=True, cwd=ROOT, stdout=sys.stderr, **kwargs)


def output(args, **kwargs):
    return subprocess.run(args, check=True, cwd=ROOT, capture_output=True, text=True, **kwargs).stdout
