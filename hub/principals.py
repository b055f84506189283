"""The Kafka users that are not agencies: the broker's super users and the hub's services.

An agency id is its SCRAM user's name, so no agency may take one of these names
(``hub.reference.Network``), and provisioning never sets their passwords for an agency
(``producers.provision``).
"""

from __future__ import annotations

# The hub's own principals, each under the tenant's topic prefix (``hub.topics.principal``).
SERVICE_PRINCIPALS = ("relay", "hub", "auditor", "analyst")
# The broker's super users: the default HUB_KAFKA_USER and the controller listener's user.
DEFAULT_SUPER_USER = "admin"
CONTROLLER_USER = "controller"

RESERVED_PRINCIPALS = frozenset({*SERVICE_PRINCIPALS, DEFAULT_SUPER_USER, CONTROLLER_USER})
