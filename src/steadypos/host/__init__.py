"""The acquirer + issuer host: sign-in and keys, financial messages, a double-entry ledger."""
