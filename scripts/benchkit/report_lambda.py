"""--as-lambda's part of the report: each function as deployed, the memory sweep, the memory
size it chooses, the targets of issue 16, and docs/cost.md."""
from dataclasses import dataclass

from . import cost
from .lambda_mode import SERVICE_MS, billed_ms
from .measure import median, ms, p95
from .report import table, verdict

TARGET_COLD_MS = 100
TARGET_EXCHANGE_P50_MS = 15
TARGET_COST_SHARE = 10  # 100,000 MAUs at most 1/10 of Cognito's price
# The warm latency a function must keep to be given less memory: an interactive request; a
# sign-in, whose argon2id is slow on purpose, a form submission that still feels immediate.
INTERACTIVE_P50_MS = 50
SIGN_IN_P50_MS = 100
WARM_LIMITS = {"token (code exchange)": TARGET_EXCHANGE_P50_MS, "login (sign-in)": SIGN_IN_P50_MS}
EXCHANGE = "token (code exchange)"
# Sizes whose costs differ by less than this are equal: the measurement's noise.
COST_NOISE = 0.02


@dataclass
class Figures:
    """One scenario at one memory size, in the terms Lambda bills."""
    label: str
    function: str
    memory_mb: int
    init_ms: float
    cold_ms: float
    cold_p95_ms: float
    cold_billed_ms: float
    handshakes: float
    warm_p50_ms: float
    warm_p95_ms: float
    adjusted_p50_ms: float
    adjusted_p95_ms: float
    billed_warm_ms: float  # mean of the warm requests' billed durations
    calls: float
    read_units: float
    write_units: float
    moto_ms: float
    peak_rss_mb: float
    log_bytes: float

    def cost(self):
        return cost.RequestCost(self.label, self.memory_mb, self.billed_warm_ms, self.read_units,
                                self.write_units, self.log_bytes)


def figures(result, memory_mb, rtt_ms):
    runs = result.runs
    warm = [(ns, calls) for r in runs for ns, calls in zip(r.warm_ns, r.warm_calls)]
    adjusted = [ms(calls.adjusted_ns(ns, rtt_ms)) for ns, calls in warm]
    cold_adjusted = [ms(r.first_calls.adjusted_ns(r.first_response_ns, rtt_ms)) for r in runs]
    count = len(warm)
    return Figures(
        label=result.scenario.label, function=result.scenario.function, memory_mb=memory_mb,
        init_ms=median(result.init_ms()), cold_ms=median(cold_adjusted), cold_p95_ms=p95(cold_adjusted),
        cold_billed_ms=median([billed_ms(v) for v in cold_adjusted]),
        handshakes=median([r.first_calls.handshakes for r in runs]),
        warm_p50_ms=median([ms(ns) for ns, _ in warm]), warm_p95_ms=p95([ms(ns) for ns, _ in warm]),
        adjusted_p50_ms=median(adjusted), adjusted_p95_ms=p95(adjusted),
        billed_warm_ms=sum(billed_ms(v) for v in adjusted) / count,
        calls=sum(c.calls for _, c in warm) / count,
        read_units=sum(c.read_units for _, c in warm) / count,
        write_units=sum(c.write_units for _, c in warm) / count,
        moto_ms=sum(ms(c.moto_ns) for _, c in warm) / count,
        peak_rss_mb=result.peak_rss_mb(),
        log_bytes=median([r.log_bytes_per_request for r in runs]),
    )


def representative(f):
    """The request that stands for its function (the cold start target is per function)."""
    return f.label == f.function


def shortfall(f):
    """How far a request is from its limits: at most 1 when it meets them."""
    warm = f.adjusted_p50_ms / WARM_LIMITS.get(f.label, INTERACTIVE_P50_MS)
    return max(warm, f.cold_ms / TARGET_COLD_MS) if representative(f) else warm


def choose(sweep, deployed):
    """{function: (memory, why)}: the cheapest size at which every request of the function
    meets its limits. Sizes within COST_NOISE of the cheapest cost the same: the one deployed
    if it is among them (no change on noise), else the fastest. Where no size meets the
    limits, the one closest to them."""
    by_function = {}
    for memory, rows in sweep.items():
        for f in rows:
            by_function.setdefault(f.function, {}).setdefault(memory, []).append(f)
    chosen = {}
    for function, sizes in by_function.items():
        passing = {memory: (sum(f.cost().total() for f in rows), max(f.adjusted_p50_ms for f in rows))
                   for memory, rows in sizes.items() if all(shortfall(f) <= 1 for f in rows)}
        if passing:
            cheapest = min(c for c, _ in passing.values())
            same = {m: v for m, v in passing.items() if v[0] <= cheapest * (1 + COST_NOISE)}
            if deployed.get(function) in same:
                chosen[function] = (deployed[function], "meets the limits, cost the cheapest's (as deployed)")
            else:
                memory = min(same, key=lambda m: same[m][1])
                chosen[function] = (memory, "the cheapest that meets the limits")
        else:
            memory = min(sizes, key=lambda m: max(shortfall(f) for f in sizes[m]))
            chosen[function] = (memory, "**no size meets the limits**: the closest")
    return chosen


class LambdaReport:
    def __init__(self, shape_text, sweep_results, template_memory, rtt_ms, lean_results=None, lean_memory=None):
        self.shape_text = shape_text
        self.template_memory = template_memory
        self.rtt_ms = rtt_ms
        self.failed_runs = sum(r.failed_runs for results in sweep_results.values() for r in results)
        self.sweep = {memory: [figures(r, memory, rtt_ms) for r in results]
                      for memory, results in sweep_results.items()}
        self.chosen = choose(self.sweep, template_memory)
        self.lean_results, self.lean_memory = lean_results, lean_memory

    def deployed(self):
        """Each scenario at the memory template.yaml gives its function."""
        rows = []
        for memory, figs in self.sweep.items():
            rows += [f for f in figs if self.template_memory.get(f.function) == memory]
        order = {f.label: i for i, f in enumerate(next(iter(self.sweep.values())))}
        return sorted(rows, key=lambda f: order[f.label])

    def costs(self):
        return {f.label: f.cost() for f in self.deployed()}

    def complete(self):
        """Whether every request the cost model prices was measured (not so with --only)."""
        needed = {label for recipe in cost.actions().values() for label, _ in recipe}
        return needed <= set(self.costs())

    def markdown(self):
        parts = [self.method_section(), self.deployed_section(), self.sweep_section(), self.choice_section()]
        if self.lean_results:
            parts.append(self.trust_section(self.lean_results, self.lean_memory))
        if self.complete():
            parts.append(self.targets_section())
        return "\n\n".join(parts)

    def method_section(self):
        return ("## As on Lambda (`--as-lambda`)\n\n" + self.shape_text + "\n\n"
                "*Adjusted*: the time each DynamoDB call spent in the TLS proxy (moto's, the proxy's, its "
                f"timers') taken out of the latency, and per call the {self.rtt_ms:g} ms round trip plus "
                f"{SERVICE_MS:.0f} ms of DynamoDB service time put in; the TLS handshake's round trips stay as "
                f"measured. Runs measured again because a request failed: {self.failed_runs}. *Billed*: the adjusted duration rounded up to 1 ms, as Lambda "
                "bills; a cold start's includes init (custom runtimes are billed for init).")

    def row(self, f):
        return (f.label, f.memory_mb, f"{f.init_ms:.1f}", f"{f.cold_ms:.1f}", f"{f.cold_p95_ms:.1f}",
                f"{f.handshakes:.0f}", f"{f.cold_ms - f.init_ms - f.adjusted_p50_ms:.1f}", f"{f.warm_p50_ms:.1f}", f"{f.adjusted_p50_ms:.1f}",
                f"{f.adjusted_p95_ms:.1f}", f"{f.billed_warm_ms:.1f}", f"{f.cold_billed_ms:.0f}",
                f"{f.calls:.1f}", f"{f.read_units:g} / {f.write_units:g}", f"{f.peak_rss_mb:.1f}")

    HEADER = ("request", "MB", "init", "cold first response", "cold p95", "TLS handshakes (first)",
              "first request's extra", "warm p50 (raw)", "warm p50 (adjusted)", "warm p95 (adjusted)", "billed warm (mean)",
              "billed cold", "DynamoDB calls", "RRU / WRU", "peak RSS MB")

    def deployed_section(self):
        return ("### Each function at its MemorySize in template.yaml\n\nMilliseconds; cold figures are "
                "medians of the runs (spawn → response, init included, adjusted), warm ones over every "
                "warm request of every run. *First request's extra*: cold first response − init − warm p50, "
                "what the first request pays for its TLS connection (two round trips and the handshake's "
                "CPU, throttled) and for what a warm container has cached. Calls and request units per "
                "warm request.\n\n"
                + table(self.HEADER, [self.row(f) for f in self.deployed()]))

    def sweep_section(self):
        sizes = list(self.sweep)
        labels = [f.label for f in next(iter(self.sweep.values()))]
        rows = []
        for label in labels:
            cells = [label]
            for memory in sizes:
                f = next(f for f in self.sweep[memory] if f.label == label)
                cells.append(f"{f.cold_ms:.0f} / {f.adjusted_p50_ms:.1f} / "
                             f"{cost.dollars(f.cost().total() * 1e6)}")
            rows.append(cells)
        return ("### Memory sweep\n\nPer request and memory size: cold first response (ms, median) / warm "
                "p50 (ms, adjusted) / dollars per million warm requests (Lambda duration and requests, API "
                "Gateway, request units, logs; cost.py).\n\n"
                + table(["request", *[f"{m} MB" for m in sizes]], rows))

    def choice_section(self):
        rows = []
        for function, (memory, why) in sorted(self.chosen.items()):
            deployed = self.template_memory.get(function)
            rows.append((function, memory, why, deployed, "yes" if deployed == memory else "**no**"))
        return ("### MemorySize chosen by the sweep\n\nThe limits: each function's cold first response "
                f"≤ {TARGET_COLD_MS} ms (its representative request); warm p50 (adjusted) ≤ "
                f"{INTERACTIVE_P50_MS} ms, the code exchange's ≤ {TARGET_EXCHANGE_P50_MS} ms, a sign-in's ≤ "
                f"{SIGN_IN_P50_MS} ms. Among the sizes that meet them, the cheapest per request; sizes within "
                f"{COST_NOISE:.0%} of it cost the same (noise): the deployed one if among them, else the "
                "fastest.\n\n"
                + table(("function", "chosen MB", "why", "template.yaml MB", "template agrees"), rows))

    def targets_section(self):
        deployed = self.deployed()
        slowest = max((f for f in deployed if representative(f)), key=lambda f: f.cold_ms)
        exchange = next((f for f in deployed if f.label == EXCHANGE), None)
        ours = sum(cost.monthly(self.costs(), 100_000).values())
        lite = cost.cognito_lite(100_000)
        rows = [
            (f"every function's cold first response ≤ {TARGET_COLD_MS} ms, TLS handshake included "
             "(its representative request)",
             f"slowest: {slowest.label} {slowest.cold_ms:.1f} ms", verdict(slowest.cold_ms <= TARGET_COLD_MS)),
        ]
        if exchange:
            rows.append((f"warm code exchange p50 ≤ {TARGET_EXCHANGE_P50_MS} ms (adjusted)",
                         f"{exchange.adjusted_p50_ms:.1f} ms at {exchange.memory_mb} MB",
                         verdict(exchange.adjusted_p50_ms <= TARGET_EXCHANGE_P50_MS)))
        rows.append((f"100,000 MAUs a month ≤ 1/{TARGET_COST_SHARE} of Cognito's price (Lite, the cheaper plan)",
                     f"{cost.dollars(ours)} against {cost.dollars(lite)}",
                     verdict(ours * TARGET_COST_SHARE <= lite)))
        return "### Targets (issue 16)\n\n" + table(("target", "figure", ""), rows)

    def trust_section(self, lean_results, memory):
        """The same functions at `memory` with SSL_CERT_FILE holding only the CA they need."""
        if not lean_results:
            return None
        lean = {f.label: f for f in (figures(r, memory, self.rtt_ms) for r in lean_results)}
        rows = []
        for f in self.sweep[memory]:
            other = lean.get(f.label)
            if other and representative(f):
                rows.append((f.label, f"{f.init_ms:.1f}", f"{other.init_ms:.1f}", f"{f.cold_ms:.1f}",
                             f"{other.cold_ms:.1f}"))
        return (f"### A lighter trust store ({memory} MB)\n\nMilliseconds, medians: the system CA bundle "
                "(as template.yaml sets SSL_CERT_FILE) against a file with only the CA the endpoint "
                "needs.\n\n"
                + table(("function", "init, bundle", "init, one CA", "cold first response, bundle",
                         "cold first response, one CA"), rows))

    def inputs_section(self):
        """The cost model's inputs, per request as deployed: what docs/cost.md is computed from."""
        rows = [(c.label, c.memory_mb, f"{c.billed_ms:.2f}", f"{c.read_units:g}", f"{c.write_units:g}",
                 f"{c.log_bytes:.0f}", cost.dollars(c.total() * 1e6)) for c in self.costs().values()]
        return table(("request", "MB", "billed ms (mean, warm)", "RRU", "WRU", "log bytes",
                      "$ per million"), rows)


def cost_markdown(report, command, machine_date):
    costs = report.costs()
    lines = ["# Cost", "",
             f"Generated by `{command}` ({machine_date}) from the same run as docs/performance.md: "
             "the bench measures, per request, the billed duration at the function's MemorySize, the "
             "DynamoDB request units and the log bytes; `scripts/benchkit/cost.py` prices them and holds "
             "the usage assumptions. Regenerate both with `scripts/bench --as-lambda --write`.", "",
             f"Prices: us-east-1, USD, checked {cost.PRICES_CHECKED}: Lambda arm64 "
             f"${cost.LAMBDA_ARM_GB_SECOND} per GB-second and ${cost.LAMBDA_PER_MILLION_REQUESTS:.2f} per million "
             "requests (https://aws.amazon.com/lambda/pricing/); API Gateway HTTP API "
             f"${cost.API_GATEWAY_HTTP_PER_MILLION:.2f} per million requests "
             "(https://aws.amazon.com/api-gateway/pricing/); DynamoDB on-demand "
             f"${cost.DYNAMODB_PER_MILLION_WRU} per million write and ${cost.DYNAMODB_PER_MILLION_RRU} per million "
             f"read request units, ${cost.DYNAMODB_GB_MONTH} per GB-month "
             "(https://aws.amazon.com/dynamodb/pricing/on-demand/); CloudWatch Logs "
             f"${cost.LOGS_PER_GB:.2f} per GB ingested (https://aws.amazon.com/cloudwatch/pricing/); Amazon "
             f"Cognito user pools: {cost.COGNITO_FREE_MAU:,} MAUs free per account, then Lite $0.0055 per MAU "
             "(to 100,000; $0.0046 to 1 million), Essentials $0.015 per MAU "
             "(https://aws.amazon.com/cognito/pricing/). Free tiers are left out on our side (an account's "
             "other work may use them up) and kept on Cognito's (its free MAUs are permanent).", "",
             "## Per request, as deployed", "", report.inputs_section(), "",
             "## Per million user actions", ""]
    rows = []
    for action, recipe in cost.actions().items():
        parts = cost.per_million(costs, recipe)
        rows.append((action, " + ".join(f"{n}×{label}" for label, n in recipe),
                     *[cost.dollars(parts[p]) for p in parts], cost.dollars(sum(parts.values()))))
    part_names = list(next(iter(costs.values())).parts())
    lines += [table(("action", "requests", *part_names, "total"), rows), ""]
    lines += ["## A month", "",
              f"A monthly active user here: {cost.USAGE['sign-ins']} sign-ins, {cost.USAGE['refreshes']} refreshes "
              f"(about 30 hours of use with 15-minute access tokens), {cost.USAGE['userinfo']} UserInfo requests "
              f"and {cost.USAGE['logout']} sign-out: {cost.requests_per_user()} API requests a month; "
              f"{cost.STORED_BYTES_PER_USER // 1024} KB stored. Cognito counts a user once a month whatever "
              "they do.", ""]
    rows = []
    for users in (10_000, 100_000):
        parts = cost.monthly(costs, users)
        ours = sum(parts.values())
        lite, essentials = cost.cognito_lite(users), cost.cognito_essentials(users)
        rows.append((f"{users:,} MAUs", *[cost.dollars(v) for v in parts.values()], cost.dollars(ours),
                     cost.dollars(lite), cost.dollars(essentials), cost.ratio_text(ours, lite)))
    names = list(cost.monthly(costs, 1))
    lines += [table(("users", *names, "Auth API", "Cognito Lite", "Cognito Essentials", "Auth API against Lite"),
                    rows), ""]
    return "\n".join(lines)
