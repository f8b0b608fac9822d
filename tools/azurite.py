"""Start and stop Azurite, the Azure Storage emulator, for local runs and tests.

Azurite comes from npm (pinned in package.json / package-lock.json). It listens on loopback only and
keeps its data in a git-ignored folder. `start()` returns only once every service answers, so callers
never race the emulator's start-up.

Usage: python -m tools.azurite start|stop|status [--location DIR] [--blob-port N] ... [--https] [--oauth]
`stop` says "stopped" only once the process is gone (SIGKILL if it will not go), and exits 1 if it never goes.

HTTPS and OAuth (to run identity-based storage locally): `Azurite(..., cert=..., key=..., oauth=True)` serves
https with that certificate and accepts bearer tokens (`--oauth basic`: Azurite checks a token's issuer,
audience and lifetime, not its signature). `self_signed_certificate(folder)` makes a certificate for
127.0.0.1 and localhost; clients trust it through `connection_verify=<cert>` or REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.config import AZURITE_ACCOUNT, AZURITE_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
DEFAULT_LOCATION = REPO_ROOT / ".azurite"

# Azurite's published development account (not a secret: every Azurite install uses it).
DEV_ACCOUNT, DEV_KEY = AZURITE_ACCOUNT, AZURITE_KEY


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connection_string(blob_port: int, queue_port: int, table_port: int, host: str = "127.0.0.1") -> str:
    """Explicit connection string for an Azurite on the given ports (SharedKey, plain http)."""
    base = f"http://{host}"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={base}:{blob_port}/{DEV_ACCOUNT};"
        f"QueueEndpoint={base}:{queue_port}/{DEV_ACCOUNT};"
        f"TableEndpoint={base}:{table_port}/{DEV_ACCOUNT};"
    )


def self_signed_certificate(folder: Path, days: int = 7) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for 127.0.0.1 and localhost, written to `folder` as
    `azurite.pem` / `azurite-key.pem`. It is its own CA (basic constraints, key identifiers), so a client
    that trusts this one file accepts it, also under OpenSSL's strict verification."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Azurite on loopback (tests only)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "azurite.pem", folder / "azurite-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Azurite:
    """One Azurite process: blob, queue and table services on loopback; https with `cert` and `key`, bearer
    tokens accepted too with `oauth` (which needs https)."""

    location: Path = DEFAULT_LOCATION
    blob_port: int = 10000
    queue_port: int = 10001
    table_port: int = 10002
    process: subprocess.Popen[bytes] | None = None
    cert: Path | None = None
    key: Path | None = None
    oauth: bool = False

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"

    @property
    def connection_string(self) -> str:
        text = connection_string(self.blob_port, self.queue_port, self.table_port)
        return text.replace("http", "https") if self.cert else text

    @property
    def blob_service_uri(self) -> str:
        """For identity-based connections (`AzureWebJobsStorage__blobServiceUri`): path-style, as Azurite serves."""
        return f"{self.scheme}://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT}"

    @property
    def queue_service_uri(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.queue_port}/{DEV_ACCOUNT}"

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.blob_port, self.queue_port, self.table_port)

    def command(self) -> list[str]:
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"Azurite is not installed at {AZURITE_BIN}: run `npm ci` in {REPO_ROOT}")
        return [
            str(AZURITE_BIN),
            "--silent",
            "--location", str(self.location),
            "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            *self._security_options(),
        ]

    def _security_options(self) -> list[str]:
        if self.oauth and not self.cert:
            raise RuntimeError("Azurite's --oauth needs https: pass cert and key too")
        if bool(self.cert) != bool(self.key):
            raise RuntimeError("Azurite https needs both cert and key (PEM files)")
        options = ["--cert", str(self.cert), "--key", str(self.key)] if self.cert else []
        return options + (["--oauth", "basic"] if self.oauth else [])

    def start(self, timeout: float = 30.0, log_path: Path | None = None) -> Azurite:
        busy = [p for p in self.ports if _answers(p)]
        if busy:
            raise RuntimeError(f"cannot start Azurite: port(s) {busy} already in use on 127.0.0.1")
        self.location.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Azurite exited at start with code {self.process.returncode}")
            if all(_answers(p) for p in self.ports):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not answer on ports {self.ports} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            # Azurite ignores a lone SIGTERM for a long while once it has served requests; a second one
            # shortly after makes it exit at once.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.3)
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def _pid_file(location: Path) -> Path:
    return location / "azurite.pid"


def _alive(pid: int) -> bool:
    """Is `pid` a live process? A zombie (exited, not yet reaped by whoever adopted it) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _is_azurite(pid: int, location: Path) -> bool:
    """Is `pid` still the Azurite the pid file was written for (not a process that reused its number)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return _alive(pid)  # no /proc: trust the pid file
    started_at = (str(location), str(location.resolve()))  # the start command passed it as given
    return _alive(pid) and "azurite" in cmdline and any(where in cmdline for where in started_at)


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop_pid(pid: int, timeout: float = 10.0) -> bool:
    """Stop the Azurite process group led by `pid` (not our child: it was started by another command) and
    wait until it is gone: SIGTERM twice (Azurite ignores a lone one once it has served requests), SIGKILL
    after `timeout`. True once the process is gone."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)

    send(signal.SIGTERM)
    if _gone(pid, 0.3):
        return True
    send(signal.SIGTERM)
    if _gone(pid, timeout):
        return True
    send(signal.SIGKILL)
    return _gone(pid, 5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.azurite", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--location", type=Path, default=DEFAULT_LOCATION)
    parser.add_argument("--blob-port", type=int, default=int(os.environ.get("AZURITE_BLOB_PORT", 10000)))
    parser.add_argument("--queue-port", type=int, default=int(os.environ.get("AZURITE_QUEUE_PORT", 10001)))
    parser.add_argument("--table-port", type=int, default=int(os.environ.get("AZURITE_TABLE_PORT", 10002)))
    parser.add_argument("--clean", action="store_true", help="delete the data folder before starting")
    parser.add_argument("--https", action="store_true",
                        help="serve https with a self-signed certificate made in the data folder (azurite.pem)")
    parser.add_argument("--oauth", action="store_true", help="accept bearer tokens too (--oauth basic; needs --https)")
    args = parser.parse_args(argv)
    az = Azurite(args.location, args.blob_port, args.queue_port, args.table_port, oauth=args.oauth)
    pid_file = _pid_file(args.location)
    if args.action == "start":
        if args.clean and args.location.exists():
            shutil.rmtree(args.location)
        if args.https or args.oauth:
            az.cert, az.key = self_signed_certificate(args.location)
        az.start(log_path=None)
        args.location.mkdir(parents=True, exist_ok=True)
        assert az.process is not None
        pid_file.write_text(str(az.process.pid))
        ports = f"blob:{az.blob_port} queue:{az.queue_port} table:{az.table_port}"
        print(f"Azurite up (pid {az.process.pid}) {ports}" + (f" https (trust {az.cert})" if az.cert else "")
              + (" oauth" if az.oauth else ""))
        return 0
    if args.action == "stop":
        if not pid_file.exists():
            print("Azurite: no pid file, nothing to stop")
            return 0
        pid = int(pid_file.read_text())
        if not _is_azurite(pid, args.location):
            print(f"Azurite (pid {pid}) was not running")
        elif stop_pid(pid):
            print(f"Azurite stopped (pid {pid})")
        else:
            print(f"Azurite (pid {pid}) is still running after SIGTERM and SIGKILL", file=sys.stderr)
            return 1
        pid_file.unlink(missing_ok=True)
        return 0
    up = all(_answers(p) for p in az.ports)
    print("Azurite: " + ("up" if up else "down"))
    return 0 if up else 1


if __name__ == "__main__":
    sys.exit(main())
