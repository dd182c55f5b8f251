"""The gateway clients, one module per provider, and their registry.

:mod:`.base` holds the contract every client implements (:class:`~.base.Client`) and what the HTTP
providers share (:class:`~.base.HttpClient`); the values they exchange (``Outgoing``, ``Result``,
``Report``, ``Request``…) are in :mod:`core.gateway`. Each provider module defines its client class
and names it ``CLIENT``.

Adding a provider: write its module here (see :mod:`.test` for the smallest one and
:mod:`.twilio` for an HTTP one) and add its name to :data:`MODULES` below. The add-on's gateway
form lists the providers in ``models/clinic_sms_gateway.py``.
"""

from importlib import import_module

from .base import Client, HttpClient

#: The provider modules of this package, each defining ``CLIENT``.
MODULES = ("test", "gatewayapi", "smsapi", "twilio", "kannel")

#: provider code → client class.
REGISTRY: dict[str, type[Client]] = {
    client.provider: client for client in (import_module(f"{__name__}.{name}").CLIENT for name in MODULES)
}


def client_class(provider: str) -> type[Client]:
    try:
        return REGISTRY[provider]
    except KeyError:
        raise ValueError(f"Unknown SMS provider: {provider!r}") from None


def make_client(provider: str, **settings) -> Client:
    """The client for ``provider`` configured with the gateway's ``settings``."""
    return client_class(provider)(**settings)


__all__ = ["MODULES", "REGISTRY", "Client", "HttpClient", "client_class", "make_client"]
