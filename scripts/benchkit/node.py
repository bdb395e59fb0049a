"""node-oidc-provider started the way our functions are (spawn -> first answer), for the
comparison of issue 6: npm's `oidc-provider`, installed into .local/bench-node."""
import http.client
import json
import time
from dataclasses import dataclass

from .env import LOGS, STATE
from .measure import ms, peak_rss_kb
from .proc import CHILDREN, die, free_port, log, run

NODE_DIR = STATE / "bench-node"

NODE_SERVER = """\
// Written by scripts/bench: node-oidc-provider as its quick start configures it, one client.
import Provider from 'oidc-provider';
const port = Number(process.argv[2]);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ client_id: 'bench', client_secret: 'bench-secret', redirect_uris: ['http://127.0.0.1:8765/callback'] }],
});
provider.listen(port, '127.0.0.1');
"""


def ensure_oidc_provider():
    if not (NODE_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        log("installing oidc-provider (npm, latest) into .local/bench-node")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        package = NODE_DIR / "package.json"
        if not package.exists():
            package.write_text('{"private": true, "type": "module"}\n')
        run(["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "oidc-provider@latest"])
    (NODE_DIR / "server.mjs").write_text(NODE_SERVER)
    return json.loads((NODE_DIR / "node_modules" / "oidc-provider" / "package.json").read_text())["version"]


def first_ok(port, process, seconds=30):
    """Polls the discovery document until it answers 200; returns the time it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            die(f"node-oidc-provider exited with status {process.returncode}: see {LOGS / 'node.log'}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/.well-known/openid-configuration")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter_ns()
        except OSError:
            time.sleep(0.0005)
        finally:
            connection.close()
    die(f"node-oidc-provider did not answer within {seconds} s")


@dataclass
class NodeResult:
    version: str
    first_response_ms: list
    peak_rss_mb: float


def measure_node(runs):
    version = ensure_oidc_provider()
    log(f"node-oidc-provider {version}: {runs} runs")
    times, rss = [], []
    for _ in range(runs):
        port = free_port()
        spawned = time.perf_counter_ns()
        process = CHILDREN.start(["node", "server.mjs", str(port)], LOGS / "node.log", cwd=NODE_DIR)
        try:
            times.append(ms(first_ok(port, process) - spawned))
            rss.append(peak_rss_kb(process.pid) / 1024)
        finally:
            CHILDREN.stop(process)
    return NodeResult(version, times, max(rss))
