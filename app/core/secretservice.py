"""Bridgewatch's own Secret Service client: a keyring backend for GNOME Keyring and KWallet on Linux.

keyring's stock Linux backend goes through SecretStorage, which needs the `cryptography`
package: 14 MB of the 192.7 MB Linux bundle built with it, used only to encrypt a token on
its way over D-Bus.
This module speaks the same freedesktop Secret Service protocol over dbus-fast, which the
app already carries for notifications, and keeps the transfer encrypted:

- the session is always `dh-ietf1024-sha256-aes128-cbc-pkcs7`: a Diffie-Hellman exchange
  (RFC 2409 group 2), HKDF-SHA256 (RFC 5869) for the key, AES-128-CBC from the libcrypto
  that Python's own `ssl` module has loaded. There is no fallback to the `plain` algorithm:
  a service that refuses encryption gets an error, never a token in clear.
- items carry the attributes keyring uses (`service`, `username`, `application`), so
  tokens stored by earlier versions through SecretStorage are found, and the other way round.

Each operation opens its own connection through app.core.sessionbus, on a short-lived thread
with its own event loop, so callers may be plain threads or code inside an asyncio loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hashlib
import hmac
import secrets
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import keyring.backend
import keyring.errors

from app.core.sessionbus import CALL_TIMEOUT, SECRET_SERVICE_NAME, BusUnreachable, run_on_bus

__all__ = ["SecretServiceKeyring", "aes128_cbc_decrypt", "aes128_cbc_encrypt", "hkdf_sha256"]

SERVICE_NAME = SECRET_SERVICE_NAME
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"
COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
ITEM_IFACE = "org.freedesktop.Secret.Item"
SESSION_IFACE = "org.freedesktop.Secret.Session"
PROMPT_IFACE = "org.freedesktop.Secret.Prompt"
ALGORITHM = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
NO_OBJECT = "/"

# keyring's default scheme, so entries are shared with keyring's SecretService backend.
APPLICATION = "Python keyring library"

# The prime of RFC 2409's second Oakley group (1024 bits); the generator is 2.
DH_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
    "FFFFFFFFFFFFFFFF",
    16,
)
DH_BYTES = 128

PROMPT_TIMEOUT = 300.0  # seconds a person has to answer an unlock prompt

T = TypeVar("T")


class SecretServiceError(keyring.errors.KeyringError):
    """An error of a Secret Service call: the message names the D-Bus error and never a secret."""

    explains_itself = True  # TokenStore quotes this message unchanged


# --- AES-128-CBC through libcrypto --------------------------------------------------------


class _LibCrypto:
    """The EVP cipher functions of the libcrypto that is already loaded for `ssl`."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(_libcrypto_path())
        self.ctx_new = lib.EVP_CIPHER_CTX_new
        self.ctx_new.restype = ctypes.c_void_p
        self.ctx_new.argtypes = []
        self.ctx_free = lib.EVP_CIPHER_CTX_free
        self.ctx_free.restype = None
        self.ctx_free.argtypes = [ctypes.c_void_p]
        self.aes_128_cbc = lib.EVP_aes_128_cbc
        self.aes_128_cbc.restype = ctypes.c_void_p
        self.aes_128_cbc.argtypes = []
        self.init = lib.EVP_CipherInit_ex
        self.init.restype = ctypes.c_int
        self.init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        self.update = lib.EVP_CipherUpdate
        self.update.restype = ctypes.c_int
        self.update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_int]
        self.final = lib.EVP_CipherFinal_ex
        self.final.restype = ctypes.c_int
        self.final.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]

    def run(self, key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
        if len(key) != 16 or len(iv) != 16:
            raise ValueError(f"AES-128-CBC needs a 16-byte key and IV, not {len(key)} and {len(iv)} bytes")
        ctx = self.ctx_new()
        if not ctx:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        try:
            out = ctypes.create_string_buffer(len(data) + 32)
            written = ctypes.c_int(0)
            tail = ctypes.c_int(0)
            ok = (
                self.init(ctx, self.aes_128_cbc(), None, key, iv, 1 if encrypt else 0) == 1
                and self.update(ctx, ctypes.addressof(out), ctypes.byref(written), data, len(data)) == 1
                and self.final(ctx, ctypes.addressof(out) + written.value, ctypes.byref(tail)) == 1
            )
            if not ok:
                # A wrong key or corrupt padding. The message leaves the data out.
                raise SecretServiceError("AES-128-CBC failed: the secret could not be " + ("encrypted." if encrypt else "decrypted."))
            return out.raw[: written.value + tail.value]
        finally:
            self.ctx_free(ctx)


def _libcrypto_path() -> str:
    """Return the libcrypto that `ssl` loaded (the bundled one when frozen), or the system's."""
    import ssl  # noqa: F401  (loading _ssl maps libcrypto into the process)

    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").partition("/")[2]
                if path and "libcrypto.so" in path.rsplit("/", 1)[-1]:
                    return "/" + path
    except OSError:
        pass
    found = ctypes.util.find_library("crypto")
    if found:
        return found
    raise SecretServiceError(
        "OpenSSL's libcrypto was not found, so secrets cannot be encrypted for the keychain. "
        "Install the libssl3 package (Debian, Ubuntu) or openssl-libs (Fedora)."
    )


_libcrypto: _LibCrypto | None = None
_libcrypto_lock = threading.Lock()


def _crypto() -> _LibCrypto:
    global _libcrypto
    with _libcrypto_lock:
        if _libcrypto is None:
            _libcrypto = _LibCrypto()
        return _libcrypto


def aes128_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Encrypt with AES-128 in CBC mode and PKCS#7 padding."""
    return _crypto().run(key, iv, plaintext, encrypt=True)


def aes128_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Decrypt AES-128-CBC and remove the PKCS#7 padding; raise SecretServiceError when the padding is invalid."""
    return _crypto().run(key, iv, ciphertext, encrypt=False)


def hkdf_sha256(secret: bytes, length: int, salt: bytes = b"", info: bytes = b"") -> bytes:
    """Derive `length` bytes with HKDF-SHA256 (RFC 5869); an empty salt means 32 zero bytes."""
    prk = hmac.new(salt or b"\x00" * 32, secret, hashlib.sha256).digest()
    output, block, counter = b"", b"", 1
    while len(output) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


class _DhSession:
    """One side of the session's Diffie-Hellman exchange, and the AES key it yields."""

    def __init__(self) -> None:
        self._private = secrets.randbits(1024) | 1 << 1023
        self.public = pow(2, self._private, DH_PRIME).to_bytes(DH_BYTES, "big")
        self.key = b""

    def agree(self, server_public: bytes) -> None:
        value = int.from_bytes(server_public, "big")
        if not 1 < value < DH_PRIME - 1:
            raise SecretServiceError("The Secret Service sent an invalid session key.")
        shared = pow(value, self._private, DH_PRIME).to_bytes(DH_BYTES, "big")
        self.key = hkdf_sha256(shared, 16)


# --- the D-Bus conversation ---------------------------------------------------------------


class _Conversation:
    """One connection to the session bus and one encrypted session with the Secret Service."""

    def __init__(self, bus: Any) -> None:
        from dbus_fast import Message, MessageType, Variant

        self._bus = bus
        self._Message = Message
        self._MessageType = MessageType
        self._Variant = Variant
        self._dh = _DhSession()
        self.session = NO_OBJECT

    async def call(self, path: str, interface: str, member: str, signature: str = "", body: list | None = None, destination: str = SERVICE_NAME) -> list:
        message = self._Message(
            destination=destination, path=path, interface=interface, member=member, signature=signature, body=body or []
        )
        reply = await asyncio.wait_for(self._bus.call(message), CALL_TIMEOUT)
        if reply.message_type == self._MessageType.ERROR:
            raise _dbus_error(reply.error_name or "unknown error", member)
        return reply.body

    async def open_session(self) -> None:
        try:
            output, self.session = await self.call(
                SERVICE_PATH, SERVICE_IFACE, "OpenSession", "sv", [ALGORITHM, self._Variant("ay", self._dh.public)]
            )
        except SecretServiceError as exc:
            if "NotSupported" in str(exc):
                raise SecretServiceError(
                    "The Secret Service does not offer encrypted sessions, so Bridgewatch will not send it a token. "
                    "Use GNOME Keyring, KWallet 5.97 or later, or KeePassXC."
                ) from None
            raise
        self._dh.agree(bytes(output.value))

    async def close_session(self) -> None:
        if self.session != NO_OBJECT:
            await self.call(self.session, SESSION_IFACE, "Close")

    async def prompt(self, path: str) -> tuple[bool, Any]:
        """Show the prompt at `path` (an unlock or create dialog); return (dismissed, result).

        A prompt still unanswered after PROMPT_TIMEOUT seconds counts as dismissed.
        """
        if path == NO_OBJECT:
            return False, None
        loop = asyncio.get_running_loop()
        completed: asyncio.Future = loop.create_future()

        def on_message(message: Any) -> None:
            if (
                message.message_type == self._MessageType.SIGNAL
                and message.path == path
                and message.interface == PROMPT_IFACE
                and message.member == "Completed"
                and not completed.done()
            ):
                completed.set_result((bool(message.body[0]), message.body[1]))

        rule = f"type='signal',interface='{PROMPT_IFACE}',member='Completed',path='{path}'"
        await self.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule], destination="org.freedesktop.DBus")
        self._bus.add_message_handler(on_message)
        try:
            await self.call(path, PROMPT_IFACE, "Prompt", "s", [""])
            try:
                return await asyncio.wait_for(completed, PROMPT_TIMEOUT)
            except asyncio.TimeoutError:
                return True, None
        finally:
            self._bus.remove_message_handler(on_message)

    async def default_collection(self) -> str:
        """Return the unlocked default collection, creating it when there is none."""
        (path,) = await self.call(SERVICE_PATH, SERVICE_IFACE, "ReadAlias", "s", ["default"])
        if path == NO_OBJECT:
            label = {f"{COLLECTION_IFACE}.Label": self._Variant("s", "Default keyring")}
            path, prompt = await self.call(SERVICE_PATH, SERVICE_IFACE, "CreateCollection", "a{sv}s", [label, "default"])
            if path == NO_OBJECT:
                dismissed, result = await self.prompt(prompt)
                path = result.value if result is not None and not dismissed else NO_OBJECT
            if path == NO_OBJECT:
                raise keyring.errors.InitError("The keychain has no default collection, and the prompt to create one was dismissed.")
        (locked,) = await self.call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [COLLECTION_IFACE, "Locked"])
        if locked.value:
            unlocked, prompt = await self.call(SERVICE_PATH, SERVICE_IFACE, "Unlock", "ao", [[path]])
            if path not in unlocked:
                dismissed, _ = await self.prompt(prompt)
                (locked,) = await self.call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [COLLECTION_IFACE, "Locked"])
                if dismissed or locked.value:
                    raise keyring.errors.KeyringLocked("The keychain is locked, and its unlock prompt was dismissed.")
        return path

    async def find(self, collection: str, service: str, username: str) -> str | None:
        (items,) = await self.call(
            collection, COLLECTION_IFACE, "SearchItems", "a{ss}", [{"service": service, "username": username}]
        )
        return items[0] if items else None

    async def read(self, item: str) -> str:
        try:
            ((_, iv, value, _content_type),) = await self.call(item, ITEM_IFACE, "GetSecret", "o", [self.session])
        except SecretServiceError as exc:
            if "IsLocked" in str(exc):
                raise keyring.errors.KeyringLocked("The keychain entry is locked.") from None
            raise
        return aes128_cbc_decrypt(self._dh.key, bytes(iv), bytes(value)).decode("utf-8")

    async def store(self, collection: str, service: str, username: str, secret: str) -> None:
        iv = secrets.token_bytes(16)
        value = aes128_cbc_encrypt(self._dh.key, iv, secret.encode("utf-8"))
        properties = {
            f"{ITEM_IFACE}.Label": self._Variant("s", f"Password for '{username}' on '{service}'"),
            f"{ITEM_IFACE}.Attributes": self._Variant(
                "a{ss}", {"service": service, "username": username, "application": APPLICATION}
            ),
        }
        item, prompt = await self.call(
            collection,
            COLLECTION_IFACE,
            "CreateItem",
            "a{sv}(oayays)b",
            [properties, [self.session, iv, value, "text/plain"], True],
        )
        if item == NO_OBJECT:
            dismissed, _ = await self.prompt(prompt)
            if dismissed:
                raise keyring.errors.KeyringLocked("The keychain prompt was dismissed; nothing was stored.")

    async def delete(self, item: str) -> None:
        (prompt,) = await self.call(item, ITEM_IFACE, "Delete")
        dismissed, _ = await self.prompt(prompt)
        if dismissed:
            raise keyring.errors.KeyringLocked("The keychain prompt was dismissed; nothing was deleted.")


def _dbus_error(name: str, member: str) -> keyring.errors.KeyringError:
    # The D-Bus error's own text is left out: it is the service's wording and may quote arguments.
    if name.endswith(".IsLocked"):
        return keyring.errors.KeyringLocked(f"{member}: the keychain is locked ({name})")
    if name == "org.freedesktop.DBus.Error.ServiceUnknown":
        return keyring.errors.InitError(f"No Secret Service is running on the session bus ({name}).")
    return SecretServiceError(f"The Secret Service call {member} failed ({name}).")


def _in_session(operation: Callable[[_Conversation], Awaitable[T]]) -> T:
    """Run `operation` inside an encrypted Secret Service session, closed afterwards."""

    async def converse(bus: Any) -> T:
        conversation = _Conversation(bus)
        await conversation.open_session()
        try:
            return await operation(conversation)
        finally:
            await conversation.close_session()

    try:
        return run_on_bus(converse)
    except BusUnreachable as exc:
        raise keyring.errors.InitError(str(exc)) from None


# --- the keyring backend ------------------------------------------------------------------


class SecretServiceKeyring(keyring.backend.KeyringBackend):
    """keyring backend on the freedesktop Secret Service, with encrypted transfer and no SecretStorage."""

    priority = 5.0  # type: ignore[assignment]
    # Not viable for keyring's own detection, which would also import SecretStorage.
    # tokens.system_backend() selects this backend when sessionbus.service_available() returns True.
    viable = False  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        async def operation(conversation: _Conversation) -> str | None:
            collection = await conversation.default_collection()
            item = await conversation.find(collection, service, username)
            return await conversation.read(item) if item else None

        return _in_session(operation)

    def set_password(self, service: str, username: str, password: str) -> None:
        async def operation(conversation: _Conversation) -> None:
            collection = await conversation.default_collection()
            await conversation.store(collection, service, username, password)

        _in_session(operation)

    def delete_password(self, service: str, username: str) -> None:
        async def operation(conversation: _Conversation) -> bool:
            collection = await conversation.default_collection()
            item = await conversation.find(collection, service, username)
            if item is None:
                return False
            await conversation.delete(item)
            return True

        if not _in_session(operation):
            raise keyring.errors.PasswordDeleteError(f"No keychain entry for {username} on {service}.")
