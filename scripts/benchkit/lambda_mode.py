"""--as-lambda: a function process as Lambda runs it. Its memory size (template.yaml's, or the
bench's --memory), the CPU share that memory buys (cgroup.py), DynamoDB over TLS a round trip
away (tls.py), and the figures Lambda bills: duration rounded up to 1 ms, memory, requests.

A DynamoDB call here costs the proxy's round trip, moto's own time and the proxy's (Python's
timers overshoot); on DynamoDB it costs a round trip plus DynamoDB's service time. `adjusted`
takes the time each call spent in the proxy out of a latency and puts the round trip plus
SERVICE_MS per call in, so that the figure shows our function, not moto or the proxy.
"""
import math
from dataclasses import dataclass

import cfn  # scripts/cfn.py: template.yaml as data

from .cgroup import CpuQuota, vcpus_of

SERVICE_MS = 4.0  # DynamoDB's single-digit-millisecond service time, per call
SWEEP_MB = (128, 256, 512, 1024, 1769)


def template_memory():
    """{function: MemorySize} as template.yaml deploys them (Globals, then each function's)."""
    return cfn.memory_sizes(cfn.load())


@dataclass
class LambdaShape:
    """How the functions run in --as-lambda: memory per function, the network, the trust store."""
    memory_mb: dict
    network: object  # tls.Network
    lean_trust: bool = False
    init_full_cpu: bool = False

    def memory_of(self, function):
        return self.memory_mb[function]

    def env(self, function):
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.network.endpoint,
            "SSL_CERT_FILE": self.network.trust_store(self.lean_trust),
        }

    def quota(self, function):
        """The cgroup of one process of `function`: its memory's share of a vCPU from spawn,
        or (init_full_cpu) a whole vCPU until the runtime first asks for an event."""
        memory = self.memory_of(function)
        return CpuQuota(None if self.init_full_cpu else vcpus_of(memory), memory)

    def after_init(self, function, quota):
        if self.init_full_cpu:
            quota.set_vcpus(vcpus_of(self.memory_of(function)))


@dataclass
class Calls:
    """What the proxy saw between two readings of its totals."""
    calls: int
    moto_ns: int
    held_ns: int
    handshakes: int
    read_units: float
    write_units: float

    @staticmethod
    def between(before, after):
        return Calls(after["calls"] - before["calls"], after["moto_ns"] - before["moto_ns"],
                     after["held_ns"] - before["held_ns"], after["handshakes"] - before["handshakes"],
                     after["read_units"] - before["read_units"], after["write_units"] - before["write_units"])

    def adjusted_ns(self, latency_ns, rtt_ms):
        """The latency with each call's time in the proxy replaced by a round trip and
        DynamoDB's service time."""
        return latency_ns - self.held_ns + int(self.calls * (rtt_ms + SERVICE_MS) * 1e6)


def billed_ms(duration_ms):
    """Lambda bills duration rounded up to the next millisecond."""
    return math.ceil(duration_ms)
