"""E-mail addresses: checked for syntax only, internal domains included; a service may also
check that mail can reach them (its EMAIL_CHECK_DELIVERABILITY setting)."""

import email_validator
from pydantic import EmailStr

# Self-hosted teams use internal domains (someone@lab.local, x@corp.test), which
# email-validator refuses as special-use names even without deliverability checks. Taking
# them off its list is the library's documented way to allow them; `invalid` and `onion`
# stay refused.
INTERNAL_DOMAINS = ("local", "localhost", "test", "arpa")
for _name in INTERNAL_DOMAINS:
    if _name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_name)

Email = EmailStr


def undeliverable(address: str, timeout: int = 5) -> str | None:
    """Why mail cannot reach `address` (its domain has no mail server in DNS), or None. Asks
    DNS: run it off the event loop."""
    try:
        email_validator.validate_email(address, check_deliverability=True, timeout=timeout)
    except email_validator.EmailNotValidError as error:
        return str(error)
    return None
