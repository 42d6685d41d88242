"""Where each shared secret comes from: one function, :func:`resolve_secret`.

Several processes must hold the same secrets: a gateway replica must read the session cookie
another signed, the notifications service must open what the gateway sealed. So a secret is
configured once, outside any one process, and every process reads it from, in order:

1. its inline value, ``FARAMESH_CLOUD_<NAME>`` (``Settings.<name>``);
2. its file, ``FARAMESH_CLOUD_<NAME>_FILE`` (``Settings.<name>_file``);
3. ``Settings.secrets_dir/<file>``: a directory of files named as ``<data_dir>/keys`` names
   them (a mounted Kubernetes Secret; ``faramesh-cloud secrets init DIR`` writes one);
4. ``<data_dir>/keys/<file>``, made once (``keyfile.read_or_create``), ONLY when
   ``Settings.secrets_in_data_dir`` (a process started by ``up``: one process, one data dir).
   ``serve NAME`` turns it off: a replica that made its own secret would disagree with the
   others, so the process refuses to start with one line naming the settings
   (:class:`SecretMissing`).

A secret that is there but unusable (not PEM, the wrong key type, too short) is a
:class:`SecretInvalid` naming the setting. Both are ``ConfigError``: ``serve`` and ``up`` print
the one line and exit 2. Only file reads and parsing here; no I/O beyond the secret files.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.keyfile import read_or_create

KEYS_DIR: Final = Path("keys")  # under the data dir


class SecretMissing(ConfigError):
    """A process that may not make secrets found none configured; the message names the settings."""


class SecretInvalid(ConfigError):
    """A configured secret cannot be used; the message names the setting and what is wrong."""


def _ed25519_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _p256_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _check_ed25519(data: bytes) -> str | None:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return "is not an unencrypted PEM private key (PKCS#8)"
    return None if isinstance(key, Ed25519PrivateKey) else "is not an Ed25519 private key"


def _check_p256(data: bytes) -> str | None:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return "is not an unencrypted PEM private key (PKCS#8)"
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        return "is not an ECDSA P-256 private key"
    return None


def _check_certificate(data: bytes) -> str | None:
    try:
        x509.load_pem_x509_certificate(data)
    except ValueError:
        return "is not a PEM X.509 certificate"
    return None


def _check_text(data: bytes) -> str | None:
    text = data.strip()
    return None if len(text) >= 32 else f"is {len(text)} characters; use at least 32 random ones"


def _key32(data: bytes) -> bytes:
    """A 32-byte key as stored (raw, as ``<data_dir>/keys`` keeps it) or written as base64 text."""
    if len(data) == 32:
        return data
    try:
        decoded = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return data
    return decoded if len(decoded) == 32 else data


def _check_key32(data: bytes) -> str | None:
    return None if len(data) == 32 else "is not a 32-byte key (raw, or base64 of 32 bytes)"


def _same(data: bytes) -> bytes:
    return data


def _stripped(data: bytes) -> bytes:
    return data.strip()


@dataclass(frozen=True, slots=True)
class SecretSpec:
    name: str  # the setting: FARAMESH_CLOUD_<NAME>, <name>_file
    file: str  # its file name, in secrets_dir and in <data_dir>/keys
    what: str  # what it protects, for messages and docs
    make: Callable[[], bytes]
    check: Callable[[bytes], str | None]  # None when usable, else what is wrong
    normalise: Callable[[bytes], bytes] = _same
    inline: bool = True  # an inline FARAMESH_CLOUD_<NAME> value (False: <name> is itself the file's path)


# Every shared secret, by setting name; the file names are the ones `up` has always used.
SECRETS: Final[dict[str, SecretSpec]] = {s.name: s for s in (
    SecretSpec("platform_signing_key", "platform-ed25519.pem", "signs bundles, reports and evidence",
               _ed25519_pem, _check_ed25519),
    SecretSpec("web_secret", "web-secret", "signs the web sessions' cookies",
               lambda: secrets.token_urlsafe(48).encode(), _check_text, _stripped),
    SecretSpec("notifications_key", "notifications.key", "seals notification destinations' credentials",
               lambda: secrets.token_bytes(32), _check_key32, _key32),
    SecretSpec("registry_signing_key", "registry-ed25519-1.key", "signs registry artifacts",
               _ed25519_pem, lambda data: None, inline=False),
    SecretSpec("report_signing_key", "platform-document-p256.pem", "PAdES-signs compliance reports",
               _p256_pem, _check_p256),
    SecretSpec("report_signing_cert", "platform-document-cert.pem", "the report signing key's certificate",
               lambda: b"", _check_certificate),
    SecretSpec("forwarding_key", "forwarding.key", "seals observability forwarding credentials",
               lambda: secrets.token_bytes(32), _check_key32, _key32),
    SecretSpec("git_key", "git.key", "seals git provider tokens (the fleet's git connections)",
               lambda: secrets.token_bytes(32), _check_key32, _key32),
)}


def spec(name: str) -> SecretSpec:
    try:
        return SECRETS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a shared secret; they are {', '.join(SECRETS)}") from None


def _file_setting(settings: Settings, name: str) -> Path | None:
    path: Path | None = getattr(settings, name if not spec(name).inline else f"{name}_file")
    return path


def source(settings: Settings, name: str) -> str | None:
    """Where ``name`` would be read from ("FARAMESH_CLOUD_X", a path), or None: nobody configured it."""
    s = spec(name)
    if s.inline and getattr(settings, name):
        return f"FARAMESH_CLOUD_{name.upper()}"
    configured = _file_setting(settings, name)
    if configured is not None:
        return str(configured)
    if settings.secrets_dir is not None and (settings.secrets_dir / s.file).is_file():
        return str(settings.secrets_dir / s.file)
    return None


def missing_message(names: Iterable[str]) -> str:
    """One line: which settings to give, and why a process may not make them itself."""
    names = list(names)
    settings = ", ".join(f"{n} (FARAMESH_CLOUD_{n.upper()}{'' if not spec(n).inline else '[_FILE]'})"
                         for n in names)
    files = ", ".join(spec(n).file for n in names)
    return (f"no {settings} configured; replicas must share {'it' if len(names) == 1 else 'them'}, so `serve` "
            f"makes none: set {'it' if len(names) == 1 else 'them'}, or FARAMESH_CLOUD_SECRETS_DIR to a directory "
            f"holding {files} (`faramesh-cloud secrets init DIR` writes one)")


def resolve_secret(settings: Settings, name: str, make: Callable[[], bytes] | None = None) -> bytes:
    """The bytes of secret ``name`` (see the module docstring for the order), checked.

    ``make``: how to make it in the data dir when it depends on another secret (the report
    certificate on its key); default: the secret's own generator."""
    s = spec(name)
    if settings.secrets_dir is not None and not settings.secrets_dir.is_dir():
        raise SecretInvalid(f"secrets_dir={settings.secrets_dir} is not a directory; point FARAMESH_CLOUD_SECRETS_DIR "
                            "at the mounted secrets (`faramesh-cloud secrets init DIR` writes one)")
    where = source(settings, name)
    if where is None:
        if not settings.secrets_in_data_dir:
            raise SecretMissing(missing_message([name]))
        data = read_or_create(settings.data_dir / KEYS_DIR / s.file, make or s.make)
        where = str(settings.data_dir / KEYS_DIR / s.file)
    elif where.startswith("FARAMESH_CLOUD_"):
        data = str(getattr(settings, name)).encode()
    else:
        try:
            data = Path(where).read_bytes()
        except OSError as exc:
            raise SecretInvalid(f"{name}: cannot read {where} ({exc.strerror}); point "
                                f"FARAMESH_CLOUD_{name.upper()}_FILE or FARAMESH_CLOUD_SECRETS_DIR at a readable "
                                "file") from None
    data = s.normalise(data)
    problem = s.check(data)
    if problem is not None:
        raise SecretInvalid(f"{name} ({where}) {problem}")
    return data


def unconfigured(settings: Settings, names: Iterable[str]) -> list[str]:
    """The secrets among ``names`` that no setting or secrets_dir file provides."""
    return [n for n in names if source(settings, n) is None]


def preflight(settings: Settings, names: Iterable[str]) -> None:
    """Refuse (one line) unless every secret in ``names`` is configured and usable; for a
    process that may not make its own (``serve``), before anything starts."""
    names = list(names)
    if settings.secrets_dir is not None and not settings.secrets_dir.is_dir():
        resolve_secret(settings, next(iter(SECRETS)))  # refuses, naming secrets_dir
    if not settings.secrets_in_data_dir:
        absent = unconfigured(settings, names)
        if absent:
            raise SecretMissing(missing_message(absent))
    for name in names:
        if source(settings, name) is not None:
            resolve_secret(settings, name)
