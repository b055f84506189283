"""Kafka admin requests sent straight on a listener's socket, with no SASL exchange at all.

What an attacker on the host can try against any port the broker opens: kafka-python's
``KafkaAdminClient`` cannot even bootstrap from a KRaft controller listener (it has no
Metadata API), so the requests are framed with kafka-python's protocol classes by hand.
"""

from __future__ import annotations

import socket
import struct
from io import BytesIO
from typing import Any

from kafka.protocol.old.admin import (
    CreateAclsRequest_v1,
    CreateAclsResponse_v1,
    DescribeAclsRequest_v1,
    DescribeAclsResponse_v1,
    DescribeConfigsRequest_v1,
    DescribeConfigsResponse_v1,
)

ANY, TOPIC, GROUP, CLUSTER, BROKER = 1, 2, 3, 4, 4
LITERAL, MATCH_ANY = 3, 1
READ, ALLOW = 3, 3


def _call(host: str, port: int, request: Any, response_class: Any) -> Any:
    """The decoded response, or the string ``closed`` when the broker hung up on us."""
    request.with_header(correlation_id=1, client_id="attacker")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request.encode(header=True, framed=True))
        head = sock.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return "closed"
        (size,) = struct.unpack(">i", head)
        data = sock.recv(size, socket.MSG_WAITALL)
        if len(data) < size:
            return "closed"
    body = BytesIO(data)
    body.read(4)  # correlation id
    return response_class.decode(body)


def describe_acls(host: str, port: int) -> Any:
    request = DescribeAclsRequest_v1(
        resource_type_filter=ANY,
        resource_name_filter=None,
        pattern_type_filter=MATCH_ANY,
        principal_filter=None,
        host_filter=None,
        operation=ANY,
        permission_type=ANY,
    )
    return _call(host, port, request, DescribeAclsResponse_v1)


def create_acl(host: str, port: int, principal: str, topic: str) -> Any:
    """Grants ``principal`` READ on ``topic`` (what an agency would want on audit.consent)."""
    creation = (TOPIC, topic, LITERAL, principal, "*", READ, ALLOW)
    return _call(host, port, CreateAclsRequest_v1(creations=[creation]), CreateAclsResponse_v1)


def describe_broker_configs(host: str, port: int) -> Any:
    request = DescribeConfigsRequest_v1(resources=[(BROKER, "1", None)], include_synonyms=False)
    return _call(host, port, request, DescribeConfigsResponse_v1)


def granted(response: Any) -> bool:
    """True when the broker answered the request without an error."""
    if response == "closed":
        return False
    if hasattr(response, "results"):  # CreateAcls, DescribeConfigs
        return any(result[0] == 0 for result in response.results)
    return bool(response.error_code == 0)
