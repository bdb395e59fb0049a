"""What each labelled measurement sends, and the runs that measure it.

A scenario is one function answering one representative request. A run spawns the function
with the first event already waiting (a cold start), sends `--warm` more one at a time, reads
its CPU and memory from /proc and kills it. Runs go round-robin over the scenarios, so that a
burst of other work on the machine spreads over all of them instead of falsifying one.
"""
import secrets
import time
from dataclasses import dataclass

from .events import http_event
from .flow import CodeMint, expect
from .measure import cpu_ns_schedstat, cpu_ns_stat, median, ms, peak_rss_kb
from .proc import die, log
from .runtime_api import FunctionProcess
from .stack import empty_growing_tables

SIGN_IN_WARM_CAP = 20  # argon2id makes each sign-in cost tens of milliseconds


@dataclass
class Scenario:
    label: str
    function: str
    request: str
    status: int
    events: object  # callable(count) -> list of events
    warm_cap: int = 0  # at most this many warm invocations per run (0: --warm)


def repeat(event_factory):
    return lambda count: [event_factory() for _ in range(count)]


def scenarios(flow, mint):
    """One representative request per function, plus the real code exchange and the sign-in."""
    unknown = "unknown-" + secrets.token_urlsafe(24)
    return [
        Scenario("scopes", "scopes", "GET /oauth/scopes", 200,
                 repeat(lambda: http_event("scopes"))),
        Scenario("metadata", "metadata", "GET /.well-known/oauth-authorization-server", 200,
                 repeat(lambda: http_event("metadata-oauth"))),
        Scenario("jwks", "jwks", "GET /.well-known/jwks.json", 200,
                 repeat(lambda: http_event("jwks"))),
        Scenario("authorize", "authorize", "GET, signed in, consent remembered: 302 with a code", 302,
                 repeat(flow.authorize_event)),
        Scenario("consent", "consent", "POST approve: consent and code stored, 303", 303,
                 repeat(flow.consent_event)),
        Scenario("login", "login", "GET the sign-in form (from authorize)", 200,
                 repeat(flow.login_form_event)),
        Scenario("login (sign-in)", "login", "POST username and password: argon2id, session stored, 303",
                 303, repeat(flow.sign_in_event), warm_cap=SIGN_IN_WARM_CAP),
        Scenario("token", "token", "POST an unknown code: client authenticated, key loaded, 400", 400,
                 repeat(lambda: flow.token_event(unknown))),
        Scenario("token (code exchange)", "token", "POST a real code: redeemed, RS256 JWT + refresh token, 200",
                 200, lambda count: [flow.token_event(code) for code in mint.codes(count)]),
        Scenario("revoke", "revoke", "POST an unknown token: 200", 200,
                 repeat(lambda: flow.client_event("revoke", token=unknown))),
        Scenario("introspect", "introspect", "POST a live access token: RS256 verified, jti checked, 200", 200,
                 repeat(lambda: flow.client_event("introspect", token=flow.access_token))),
    ]


@dataclass
class RunResult:
    init_ns: int
    first_response_ns: int
    warm_ns: list
    cpu_ns_per_request: float
    stat_cpu_ns_per_request: float
    peak_rss_kb: int


def measure_run(scenario, warm):
    """One cold start, then `warm` invocations; the process is killed at the end."""
    empty_growing_tables()
    events = scenario.events(warm + 1)
    with FunctionProcess(scenario.function, first_event=events[0]) as function:
        first = expect(function.first_response(), scenario.status, scenario.label)
        pid = function.process.pid
        cpu_before, stat_before = cpu_ns_schedstat(pid), cpu_ns_stat(pid)
        warm_ns = []
        for event in events[1:]:
            enqueued = time.perf_counter_ns()
            response = expect(function.invoke(event), scenario.status, scenario.label)
            warm_ns.append(response.received_ns - enqueued)
        cpu_after, stat_after = cpu_ns_schedstat(pid), cpu_ns_stat(pid)
        return RunResult(
            init_ns=function.emulator.first_poll_ns - function.spawned_ns,
            first_response_ns=first.received_ns - function.spawned_ns,
            warm_ns=warm_ns,
            cpu_ns_per_request=(cpu_after - cpu_before) / warm,
            stat_cpu_ns_per_request=(stat_after - stat_before) / warm,
            peak_rss_kb=peak_rss_kb(pid),
        )


@dataclass
class ScenarioResult:
    scenario: Scenario
    runs: list

    def init_ms(self):
        return [ms(r.init_ns) for r in self.runs]

    def first_response_ms(self):
        return [ms(r.first_response_ns) for r in self.runs]

    def warm_ms(self):
        return [ms(ns) for r in self.runs for ns in r.warm_ns]

    def cpu_ms(self):
        return median([ms(r.cpu_ns_per_request) for r in self.runs])

    def stat_cpu_ms(self):
        return median([ms(r.stat_cpu_ns_per_request) for r in self.runs])

    def peak_rss_mb(self):
        return max(r.peak_rss_kb for r in self.runs) / 1024


def measure_functions(flow, runs, warm, only=None):
    """Round after round, one run of every scenario (see the module's docstring)."""
    mint = CodeMint(flow)
    try:
        every = scenarios(flow, mint)
        unknown = set(only or ()) - {scenario.label for scenario in every}
        if unknown:
            die(f"no scenario {', '.join(sorted(unknown))}; the labels: "
                + ", ".join(scenario.label for scenario in every))
        results = [ScenarioResult(scenario, []) for scenario in every if not only or scenario.label in only]
        for round_number in range(1, runs + 1):
            log(f"round {round_number}/{runs}: one cold start and up to {warm} warm invocations per scenario")
            for result in results:
                cap = result.scenario.warm_cap
                result.runs.append(measure_run(result.scenario, min(warm, cap) if cap else warm))
        return results
    finally:
        mint.close()
