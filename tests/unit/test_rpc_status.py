"""Status details in trailers: what the server writes, the client reads back."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

from faramesh_cloud.rpc.status import DETAILS_KEY, RETRY_AFTER_KEY, details_of, status_metadata


def test_retry_info_is_sent_both_ways_and_read_back() -> None:
    trailers = status_metadata(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", retry_after_s=1.2345)
    assert dict(trailers)[RETRY_AFTER_KEY] == "1235"
    status = status_pb2.Status.FromString(dict(trailers)[DETAILS_KEY])  # type: ignore[arg-type]
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info) and info.retry_delay.ToMilliseconds() == 1235
    assert details_of(trailers).retry_after_s == 1.235


def test_the_plain_trailer_alone_is_enough() -> None:
    assert details_of(((RETRY_AFTER_KEY, "250"),)).retry_after_s == 0.25


def test_bad_request_names_the_field() -> None:
    trailers = status_metadata(grpc.StatusCode.INVALID_ARGUMENT, "items[3].sequence: must be 1 or more",
                               field="items[3].sequence")
    details = details_of(trailers)
    assert details.fields == ("items[3].sequence",) and details.retry_after_s is None


def test_no_details_no_trailers() -> None:
    assert status_metadata(grpc.StatusCode.UNAVAILABLE, "down") == ()
    assert details_of(None).fields == ()
