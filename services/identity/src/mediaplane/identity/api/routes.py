"""The identity service's public routes: accounts, administration, federation, OAuth/OIDC."""

from __future__ import annotations

from mediaplane.identity.api.account import AccountController
from mediaplane.identity.api.admin import AdminController
from mediaplane.identity.api.federation import FederationController
from mediaplane.identity.api.oauth import DiscoveryController, OAuthController

ROUTES = [
    AccountController,
    AdminController,
    DiscoveryController,
    FederationController,
    OAuthController,
]
