"""Credentials out of every payload the hub keeps or shows: one function, :func:`redact`.

Payloads are kept as text (a channel's JSON, a cXML document, an EDI interchange inside JSON,
a stored HTTP answer), so redaction works on the text and changes nothing but the secrets:
what a quarantined payload needs for its replay stays byte for byte. Replaced by ``***``:

- JSON string values under a credential-like key (:data:`SECRET_KEYS`, compared without
  ``_``/``-`` and case), at any depth and also in JSON kept as a string inside JSON (a
  channel's raw body in its envelope): ``"webhook_secret": "…"``, ``"access_token": "…"``;
- cXML ``<SharedSecret>`` and ``<CredentialMac>`` contents (a buyer's password to the hub);
- the EDI ISA02 authorization and ISA04 security information (same width, blanked);
- the hub's own secrets wherever they stand: API keys ``ohk_<prefix>_…`` keep their prefix
  (which names the key, not the secret), Standard Webhooks secrets ``whsec_…`` become
  ``whsec_***``.

Pagination tokens (``next_page_token``) are not credentials and are left alone.
"""

from __future__ import annotations

import re

REDACTED = "***"

SECRET_KEYS = frozenset(
    {
        "secret", "sharedsecret", "webhooksecret", "clientsecret", "appsecret", "apisecret",
        "consumersecret", "password", "passwd", "token", "accesstoken", "refreshtoken",
        "idtoken", "carttoken", "checkouttoken", "apikey", "consumerkey", "privatekey",
        "authorization", "signingkey", "pickupcode",
    }
)  # fmt: skip

_KEY = r"(?P<key>[A-Za-z0-9_\-]{1,64})"
_JSON_MEMBER = re.compile(rf'(?P<q>)"{_KEY}"(?P<colon>\s*:\s*)"(?:[^"\\]|\\.)*"')
# the same inside a JSON string (a channel's raw body kept in an envelope): quotes are \"
_NESTED_JSON_MEMBER = re.compile(
    rf'(?P<q>\\)"{_KEY}\\"(?P<colon>\s*:\s*)\\"'
    r'(?:[^\\"]|\\\\\\\\|\\\\\\"|\\\\[^\\"]|\\[^\\"])*\\"'
)
_XML_SECRET = re.compile(
    r"<(?P<tag>SharedSecret|CredentialMac)(?P<attrs>(?:\s[^>]*)?)>.*?</(?P=tag)>", re.DOTALL
)
_HUB_API_KEY = re.compile(r"\b(ohk_[0-9a-f]{12})_[A-Za-z0-9_\-]{8,}")
_WEBHOOK_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]{8,}")
_ISA = re.compile(r"(?<![A-Za-z0-9])ISA(?P<sep>[^A-Za-z0-9\s])(?=\d\d(?P=sep))")


def redact(text: str) -> str:
    """``text`` with every credential in it replaced; everything else unchanged."""
    text = _JSON_MEMBER.sub(_redact_member, text)
    text = _NESTED_JSON_MEMBER.sub(_redact_member, text)
    text = _XML_SECRET.sub(r"<\g<tag>\g<attrs>>" + REDACTED + r"</\g<tag>>", text)
    text = _HUB_API_KEY.sub(r"\1_" + REDACTED, text)
    text = _WEBHOOK_SECRET.sub("whsec_" + REDACTED, text)
    return _redact_isa(text)


def is_secret_key(name: str) -> bool:
    """Whether a field called ``name`` holds a credential (``Access-Token``, ``api_key``…)."""
    return name.replace("_", "").replace("-", "").lower() in SECRET_KEYS


def _redact_member(found: re.Match[str]) -> str:
    if not is_secret_key(found.group("key")):
        return found.group(0)
    q = found.group("q")
    return f'{q}"{found.group("key")}{q}"{found.group("colon")}{q}"{REDACTED}{q}"'


def _redact_isa(text: str) -> str:
    """Blank ISA02 and ISA04 (fixed width, 10 characters each) so the ISA stays well-formed."""
    pieces: list[str] = []
    position = 0
    for found in _ISA.finditer(text):
        separator, start = found.group("sep"), found.end()
        elements = text[start : start + 40].split(separator, 4)
        if (
            start < position
            or len(elements) < 5
            or (len(elements[1]), len(elements[3])) != (10, 10)
        ):
            continue
        blanked = [elements[0], " " * len(elements[1]), elements[2], " " * len(elements[3])]
        pieces.append(text[position:start] + separator.join(blanked) + separator)
        position = start + sum(len(e) for e in blanked) + 4 * len(separator)
    pieces.append(text[position:])
    return "".join(pieces)
