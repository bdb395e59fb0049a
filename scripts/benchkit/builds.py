"""The binaries the bench measures, their deployment sizes, and criterion's results."""
import io
import json
import zipfile

from .env import FUNCTIONS, TARGET, host_binary, tool_env
from .proc import die, log, run

CRITERION_BENCHES = [
    ("pkce_verify_s256", "PKCE S256 verification (RFC 7636 Appendix B vector)"),
    ("code_issue", "code issue (`AuthorizationRequest::new_code`)"),
    ("rs256_sign_access_token", "one RS256 signature of an access token (`Signer::sign`, key parsed once)"),
    ("rs256_sign_jsonwebtoken", "one RS256 JWT as `jsonwebtoken::encode` signs it (parses the key each call)"),
    ("verify_access_token", "access token verification (`verify_access_token`)"),
    ("flow/authorize_remembered_consent", "authorize handler, signed in, consent remembered"),
    ("flow/consent_approve", "consent handler, approve"),
    ("flow/token_exchange", "token handler, code exchange (client auth, PKCE, RS256, refresh token)"),
    ("flow/authorize_consent_token", "authorize -> consent approve -> token exchange"),
]


def build(skip):
    """The host release build (measured) and the arm64 one (sized), or a check that both exist."""
    missing_lambda = [n for n in FUNCTIONS if not (TARGET / "lambda" / n / "bootstrap").exists()]
    if skip:
        missing = missing_lambda + [n for n in FUNCTIONS if not host_binary(n).exists()]
        if missing:
            die(f"--skip-build, but these binaries are missing: {', '.join(missing)}")
        return
    log("host release build (cargo build --release --bins)")
    run(["cargo", "build", "--release", "--bins"], env=tool_env())
    # Always: cargo builds only what changed, and the sizes must be of the current code.
    log("arm64 release build (cargo lambda build --release --arm64)")
    run(["cargo", "lambda", "build", "--release", "--arm64"], env=tool_env())


def zip_size(binary):
    """The deployment package: the bootstrap alone, executable, deflate level 9."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return len(buffer.getvalue())


def measure_sizes():
    sizes = {}
    for name in FUNCTIONS:
        binary = TARGET / "lambda" / name / "bootstrap"
        sizes[name] = (binary.stat().st_size, zip_size(binary))
    return sizes


def run_criterion(skip):
    """criterion's medians in nanoseconds, by bench id: run now, or the last run's (--skip-criterion)."""
    if not skip:
        log("criterion benches (cargo bench -p auth-core --bench hot_paths)")
        run(["cargo", "bench", "-p", "auth-core", "--bench", "hot_paths"], env=tool_env())
    medians = {}
    for bench_id, _ in CRITERION_BENCHES:
        estimates = TARGET / "criterion" / bench_id / "new" / "estimates.json"
        if estimates.exists():
            medians[bench_id] = json.loads(estimates.read_text())["median"]["point_estimate"]
    return medians
