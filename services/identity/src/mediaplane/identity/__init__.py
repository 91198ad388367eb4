"""mediaplane identity: accounts, sign-in and the embedded OAuth 2 / OpenID Connect provider."""
