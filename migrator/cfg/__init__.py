"""harbor.cfg 0.5.0 → 1.5.2 and the secret key.

- ``convert``: a 0.5.0 harbor.cfg to a 1.5.2 one, with a report of every key;
- ``check_key``: prove the secretkey file decrypts the stored target passwords;
- ``apply_insecure_from_cfg``: 0.5.0's ``verify_remote_cert = off`` on every target.
"""
from __future__ import annotations

from .convert import Change, ConversionRefused, ConvertReport, convert
from .parse import CfgDocument, parse, render
from .secretkey import check_key, decrypt, encrypt, read_key
from .targets import apply_insecure_from_cfg

__all__ = [
    "CfgDocument", "Change", "ConversionRefused", "ConvertReport", "apply_insecure_from_cfg", "check_key",
    "convert", "decrypt", "encrypt", "parse", "read_key", "render",
]
