"""The identity service's public routes: accounts, administration, federation, OAuth/OIDC."""

from __future__ import annotations

from mediaplane.identity.api.account import AccountController
from mediaplane.identity.api.admin import AdminController
from mediaplane.identity.api.federation import FederationController
from mediaplane.identity.api.oauth import DiscoveryController, OAuthController

# In the merged OpenAPI document (`just openapi`): the JSON API that answers problem+json.
# The OAuth/OpenID routes are not: RFCs 6749/7009/8628 and OpenID Connect define them,
# discovery (`/.well-known/openid-configuration`) describes them to clients, Authlib reads
# their form bodies, and their errors are RFC 6749 JSON. Federation's routes are browser
# redirects.
DOCUMENTED_ROUTES = [AccountController, AdminController]

ROUTES = [
    AccountController,
    AdminController,
    DiscoveryController,
    FederationController,
    OAuthController,
]
