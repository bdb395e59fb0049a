"""The cost model of docs/cost.md: measured billed duration, memory, request units and log
bytes per request, priced at AWS's published prices, beside Amazon Cognito's for the same users.

Every price is a constant here with its source; the usage of a monthly active user is an
assumption, stated in USAGE. Free tiers are left out on our side (an account's other work may
use them) and kept on Cognito's (its 10,000 free MAUs are per account and permanent).
"""
from dataclasses import dataclass

PRICES_CHECKED = "2026-12-03, from stored copies of the pages below (us-east-1, USD)"
# https://aws.amazon.com/lambda/pricing/ : arm64 duration, first tier; requests; "rounded up to
# the nearest 1ms"; init code is billed (always, for custom runtimes such as provided.al2023).
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
# https://aws.amazon.com/api-gateway/pricing/ : HTTP APIs, first 300 million requests a month,
# metered per 512 KB.
API_GATEWAY_HTTP_PER_MILLION = 1.00
# https://aws.amazon.com/dynamodb/pricing/on-demand/ : on-demand, after the 2024-11-01 cut.
DYNAMODB_PER_MILLION_WRU = 0.625
DYNAMODB_PER_MILLION_RRU = 0.125
DYNAMODB_GB_MONTH = 0.25
# https://aws.amazon.com/cloudwatch/pricing/ : Logs, standard ingestion.
LOGS_PER_GB = 0.50
# What Lambda itself writes per invocation (START, END, REPORT lines), beside the function's
# own lines that the bench measures: an estimate, about 350 bytes.
LAMBDA_PLATFORM_LOG_BYTES = 350
# https://aws.amazon.com/cognito/pricing/ : user pools, direct and social sign-in, per MAU a
# month; Lite and Essentials share a free tier of 10,000 MAUs per account.
COGNITO_FREE_MAU = 10_000
COGNITO_LITE_BANDS = ((100_000, 0.0055), (1_000_000, 0.0046))  # up to, price per MAU
COGNITO_ESSENTIALS_PER_MAU = 0.015

# A monthly active user's requests, by the scenario that stands for each (label: count).
# Signs in 4 times a month (the sign-in form, its POST, authorize signed in, the code
# exchange; authorize's first, signed-out request costs about what a signed-in one does),
# uses the app about 30 hours, its access token refreshed as it expires (template.yaml's
# AccessTokenTtlSeconds, 15 minutes: 4 an hour), asks UserInfo
# once per sign-in and signs out once. APIs verify the JWTs themselves (jwks is cached).
SIGN_IN = (("authorize", 2), ("login", 1), ("login (sign-in)", 1), ("token (code exchange)", 1))
USAGE = {"sign-ins": 4, "refreshes": 120, "userinfo": 4, "logout": 1}
# What DynamoDB stores per user: the account, a session, a consent, a grant and its refresh
# token, about 3 KB with the indexes' copies.
STORED_BYTES_PER_USER = 3 * 1024


@dataclass
class RequestCost:
    """What one request of a scenario costs, at the memory it is deployed with."""
    label: str
    memory_mb: int
    billed_ms: float  # mean billed duration of a warm request
    read_units: float
    write_units: float
    log_bytes: float

    def lambda_duration(self):
        return self.memory_mb / 1024 * self.billed_ms / 1000 * LAMBDA_ARM_GB_SECOND

    def dynamodb(self):
        return (self.read_units * DYNAMODB_PER_MILLION_RRU + self.write_units * DYNAMODB_PER_MILLION_WRU) / 1e6

    def logs(self):
        return (self.log_bytes + LAMBDA_PLATFORM_LOG_BYTES) / 1e9 * LOGS_PER_GB

    def requests(self):
        return (LAMBDA_PER_MILLION_REQUESTS + API_GATEWAY_HTTP_PER_MILLION) / 1e6

    def total(self):
        return self.lambda_duration() + self.dynamodb() + self.logs() + self.requests()

    def parts(self):
        return {"Lambda duration": self.lambda_duration(), "Lambda + API Gateway requests": self.requests(),
                "DynamoDB request units": self.dynamodb(), "CloudWatch Logs": self.logs()}


def per_million(costs, recipe):
    """Dollars per million of a user action made of requests (label, count), by part."""
    parts = {}
    for label, count in recipe:
        for part, dollars in costs[label].parts().items():
            parts[part] = parts.get(part, 0) + dollars * count * 1e6
    return parts


def actions():
    """The user actions docs/cost.md prices, as requests."""
    return {
        "sign-in": SIGN_IN,
        "token exchange": (("token (code exchange)", 1),),
        "refresh": (("token (refresh)", 1),),
        "userinfo": (("userinfo", 1),),
        "logout": (("logout", 1),),
    }


def monthly(costs, users):
    """Dollars a month for `users` MAUs under USAGE, by part, with storage."""
    recipe = ([(label, count * USAGE["sign-ins"]) for label, count in SIGN_IN]
              + [("token (refresh)", USAGE["refreshes"]), ("userinfo", USAGE["userinfo"]),
                 ("logout", USAGE["logout"])])
    parts = {part: dollars / 1e6 * users for part, dollars in per_million(costs, recipe).items()}
    parts["DynamoDB storage"] = users * STORED_BYTES_PER_USER / 1024 ** 3 * DYNAMODB_GB_MONTH
    return parts


def requests_per_user():
    return sum(count for _, count in SIGN_IN) * USAGE["sign-ins"] + USAGE["refreshes"] + USAGE["userinfo"] + USAGE["logout"]


def cognito_lite(users):
    billable, dollars, floor = max(0, users - COGNITO_FREE_MAU), 0.0, COGNITO_FREE_MAU
    for up_to, price in COGNITO_LITE_BANDS:
        in_band = max(0, min(users, up_to) - floor)
        dollars += in_band * price
        floor = up_to
    return dollars if billable else 0.0


def cognito_essentials(users):
    return max(0, users - COGNITO_FREE_MAU) * COGNITO_ESSENTIALS_PER_MAU


def dollars(value):
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def ratio_text(ours, theirs):
    if theirs == 0:
        return "Cognito free (inside its free tier)"
    return f"1/{theirs / ours:.0f} of it" if ours > 0 else "—"
