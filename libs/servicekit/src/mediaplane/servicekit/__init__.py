"""What mediaplane HTTP services share: JWT auth, problem+json errors, per-owner rate limits."""
