"""Identity at the edge: verifying the city's OIDC bearer tokens, and a development issuer."""
