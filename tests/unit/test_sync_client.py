"""Building push items for the sync client."""

from __future__ import annotations

import pytest
from faramesh_cloud_api.sync.v1 import push_pb2, sync_pb2

from faramesh_cloud.rpc.sync_client import push_item
from tests.sync_items import other_payloads


def test_push_item_puts_each_payload_in_its_own_field() -> None:
    payloads = {**other_payloads(), "dpr_record": push_pb2.DprRecord(record_json=b"{}")}
    for kind, payload in payloads.items():
        item = push_item(9, payload, enqueued_at_ns=1_764_000_000_123_456_789)
        assert item.WhichOneof("payload") == kind
        assert getattr(item, kind) == payload
        assert (item.sequence, item.enqueued_at.ToNanoseconds()) == (9, 1_764_000_000_123_456_789)


def test_push_item_refuses_a_message_that_is_not_a_payload_kind() -> None:
    with pytest.raises(TypeError, match="HelloRequest is not a PushItem payload kind"):
        push_item(1, sync_pb2.HelloRequest())
