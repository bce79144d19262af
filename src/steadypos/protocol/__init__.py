"""The POS link, profile pos-link-v1: UnionPay-style ISO 8583 framing, fields, MAC, PIN and keys."""
