"""Kubeconfigs are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256)."""

from cryptography.fernet import Fernet, InvalidToken


class KubeconfigBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, kubeconfig: str) -> str:
        return self._fernet.encrypt(kubeconfig.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("the kubeconfig cannot be decrypted with the configured key") from None
