"""Kubeconfigs are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256). The setting may
list several comma-separated keys to rotate: the first encrypts, any of them decrypts."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def fernet_keys(setting: str) -> list[Fernet]:
    """Raises ValueError for a key that is not urlsafe base64 of 32 bytes."""
    return [Fernet(key.strip().encode()) for key in setting.split(",") if key.strip()]


class KubeconfigBox:
    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet(fernet_keys(keys))

    def seal(self, kubeconfig: str) -> str:
        return self._fernet.encrypt(kubeconfig.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "the kubeconfig cannot be decrypted with the configured keys"
            ) from None
