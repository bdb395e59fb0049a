"""DynamoDB over TLS for --as-lambda: a CA and a certificate for localhost, the trust stores a
function may be given through SSL_CERT_FILE, and the proxy (tls_proxy.py) in front of moto."""
import datetime
import ipaddress
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .env import DYNAMO_PORT, STATE, VENV
from .proc import CHILDREN, free_port, wait_for_port

TLS_DIR = STATE / "bench-tls"
# What template.yaml gives a function on Lambda: Amazon Linux's whole CA bundle. The bench
# gives the same bundle of this machine with its own CA added, so that the trust store a
# function parses at its first connection is as large as on Lambda.
SYSTEM_BUNDLES = ("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt")


def _write_certificates():
    """A CA, and a certificate it signs for localhost and 127.0.0.1 (P-256, as DynamoDB's
    endpoints serve ECDSA or RSA; a fresh pair per bench)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    TLS_DIR.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth-api bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    (TLS_DIR / "ca.pem").write_bytes(ca_pem)
    (TLS_DIR / "server.pem").write_bytes(cert.public_bytes(pem))
    (TLS_DIR / "server.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    system = next((Path(p) for p in SYSTEM_BUNDLES if Path(p).is_file()), None)
    bundle = (system.read_bytes() if system else b"") + b"\n" + ca_pem
    (TLS_DIR / "bundle.pem").write_bytes(bundle)
    return bundle.count(b"BEGIN CERTIFICATE")


@dataclass
class Network:
    """The proxy's ports and the trust store files."""
    endpoint: str
    stats_port: int
    rtt_ms: float
    anchors_in_bundle: int

    def trust_store(self, lean):
        """SSL_CERT_FILE: the system bundle with our CA (as on Lambda), or our CA alone."""
        return str(TLS_DIR / ("ca.pem" if lean else "bundle.pem"))

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats", timeout=5) as answer:
            return json.loads(answer.read())


def start_network(rtt_ms):
    anchors = _write_certificates()
    listen, stats_port = free_port(), free_port()
    CHILDREN.start([str(VENV / "bin" / "python"), str(Path(__file__).with_name("tls_proxy.py")),
                    "--listen", str(listen), "--upstream", str(DYNAMO_PORT), "--stats", str(stats_port),
                    "--rtt-ms", str(rtt_ms), "--cert", str(TLS_DIR / "server.pem"),
                    "--key", str(TLS_DIR / "server.key")],
                   STATE / "bench-logs" / "tls-proxy.log")
    wait_for_port(listen, 10, "the TLS proxy")
    wait_for_port(stats_port, 10, "the TLS proxy's stats")
    return Network(f"https://localhost:{listen}", stats_port, rtt_ms, anchors)
