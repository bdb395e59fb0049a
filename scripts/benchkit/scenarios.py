"""What each labelled measurement sends, and the runs that measure it.

A scenario is one function answering one representative request. A run spawns the function
with the first event already waiting (a cold start), sends `--warm` more one at a time, reads
its CPU and memory from /proc and kills it. Runs go round-robin over the scenarios, so that a
burst of other work on the machine spreads over all of them instead of falsifying one.
"""
import json
import secrets
import time
from dataclasses import dataclass

from .events import http_event
from .flow import CodeMint, expect
from .env import LOGS
from .lambda_mode import Calls
from .measure import cpu_ns_schedstat, cpu_ns_stat, median, ms, peak_rss_kb
from .proc import die, log
from .runtime_api import FunctionProcess
from .stack import empty_growing_tables

# A run whose request is answered wrongly (moto, on this shared machine, once stalled a
# transaction past the SDK's 2.5 s) is measured again, at most this many times, and counted.
RUN_ATTEMPTS = 3
SIGN_IN_WARM_CAP = 20  # argon2id makes each sign-in cost tens of milliseconds
AS_LAMBDA_SIGN_IN_WARM_CAP = 5  # and at 128 MB, hundreds


@dataclass
class Scenario:
    label: str
    function: str
    request: str
    status: int
    events: object  # callable(count) -> iterable of events, read one at a time
    warm_cap: int = 0  # at most this many warm invocations per run (0: --warm)
    observe: object = None  # callable(response): what a later event needs of an answer


def repeat(event_factory):
    return lambda count: [event_factory() for _ in range(count)]


class RefreshChain:
    """Refresh requests, each with the refresh token the previous answer rotated to; a run
    starts from a new grant (the tokens table is emptied between runs)."""

    def __init__(self, flow, mint):
        self.flow, self.mint, self.latest = flow, mint, None

    def events(self, count):
        self.latest = self.mint.tokens()["refresh_token"]
        for _ in range(count):
            yield self.flow.refresh_event(self.latest)

    def observe(self, response):
        self.latest = json.loads(response.body)["refresh_token"]


def userinfo_events(flow, mint, count):
    """UserInfo requests with the access token of a grant made for this run."""
    access_token = mint.tokens()["access_token"]
    return [flow.userinfo_event(access_token) for _ in range(count)]


def scenarios(flow, mint):
    """One representative request per function, plus the real code exchange, the refresh and
    the sign-in."""
    unknown = "unknown-" + secrets.token_urlsafe(24)
    chain = RefreshChain(flow, mint)
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
        Scenario("token (refresh)", "token", "POST the latest refresh token: rotated, RS256 JWT, 200", 200,
                 lambda count: chain.events(count), observe=chain.observe),
        Scenario("revoke", "revoke", "POST an unknown token: 200", 200,
                 repeat(lambda: flow.client_event("revoke", token=unknown))),
        Scenario("introspect", "introspect", "POST a live access token: RS256 verified, jti checked, 200", 200,
                 repeat(lambda: flow.client_event("introspect", token=flow.access_token))),
        Scenario("userinfo", "userinfo", "GET with a live access token: RS256 verified, claims read, 200", 200,
                 lambda count: userinfo_events(flow, mint, count)),
        Scenario("logout", "logout", "GET, signed in: the confirmation page, 200", 200,
                 repeat(flow.logout_event)),
        Scenario("account", "account", "GET, signed in: the account page with its grants, 200", 200,
                 repeat(flow.account_event)),
    ]


@dataclass
class RunResult:
    init_ns: int
    first_response_ns: int
    warm_ns: list
    cpu_ns_per_request: float
    stat_cpu_ns_per_request: float
    peak_rss_kb: int
    # --as-lambda: what the TLS proxy saw (lambda_mode.Calls), of the first and each warm request
    first_calls: object = None
    warm_calls: list = None
    log_bytes_per_request: float = 0.0  # what the function wrote to its log, per request


def measure_run(scenario, warm, shape=None):
    """One cold start, then `warm` invocations; the process is killed at the end."""
    empty_growing_tables()
    events = iter(scenario.events(warm + 1))
    network = shape.network if shape else None
    readings = [network.stats()] if network else []
    log_path = LOGS / f"{scenario.function}.log"
    log_before = log_path.stat().st_size if log_path.exists() else 0
    with FunctionProcess(scenario.function, first_event=next(events), shape=shape) as function:
        first = expect(function.first_response(), scenario.status, scenario.label)
        if scenario.observe:
            scenario.observe(first)
        if network:
            readings.append(network.stats())
        pid = function.process.pid
        cpu_before, stat_before = cpu_ns_schedstat(pid), cpu_ns_stat(pid)
        warm_ns = []
        for event in events:
            enqueued = time.perf_counter_ns()
            response = expect(function.invoke(event), scenario.status, scenario.label)
            warm_ns.append(response.received_ns - enqueued)
            if network:
                readings.append(network.stats())
            if scenario.observe:
                scenario.observe(response)
        cpu_after, stat_after = cpu_ns_schedstat(pid), cpu_ns_stat(pid)
        calls = [Calls.between(a, b) for a, b in zip(readings, readings[1:])]
        requests = len(warm_ns) + 1
        return RunResult(
            log_bytes_per_request=(log_path.stat().st_size - log_before) / requests,
            init_ns=function.emulator.first_poll_ns - function.spawned_ns,
            first_response_ns=first.received_ns - function.spawned_ns,
            warm_ns=warm_ns,
            cpu_ns_per_request=(cpu_after - cpu_before) / len(warm_ns),
            stat_cpu_ns_per_request=(stat_after - stat_before) / len(warm_ns),
            peak_rss_kb=peak_rss_kb(pid),
            first_calls=calls[0] if calls else None,
            warm_calls=calls[1:] if calls else None,
        )


@dataclass
class ScenarioResult:
    scenario: Scenario
    runs: list
    failed_runs: int = 0

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


def measure_functions(flow, runs, warm, only=None, shape=None):
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
                if cap and shape:
                    cap = AS_LAMBDA_SIGN_IN_WARM_CAP
                for attempt in range(1, RUN_ATTEMPTS + 1):
                    try:
                        result.runs.append(measure_run(result.scenario, min(warm, cap) if cap else warm, shape))
                        break
                    except RuntimeError as error:  # UnexpectedAnswer, or the process failed
                        result.failed_runs += 1
                        log(f"{result.scenario.label}: run failed ({error}); "
                            + ("measuring it again" if attempt < RUN_ATTEMPTS else "giving up"))
                        if attempt == RUN_ATTEMPTS:
                            raise
        return results
    finally:
        mint.close()
