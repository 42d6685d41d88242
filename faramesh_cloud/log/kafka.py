"""KafkaLog: the Log port on Apache Kafka or any Kafka-protocol broker (Tansu in tests).

* ``append`` builds record batches itself (``create_batch``/``send_batch``: per-record
  ``send()`` tops out near 20k records/s, PERF-CEILINGS 3), one run of batches per partition
  chosen by ``partition_for`` so every adapter maps a key to the same partition, with
  ``acks="all"`` set explicitly. It returns once every batch is acknowledged. No idempotent
  producer (Tansu cannot do InitProducerId for aiokafka): a retried batch may be stored twice,
  which the at-least-once design already absorbs.
* Topics are created explicitly and recorded in a registry topic (``kafka_registry``), so a
  topic a broker auto-created is still unknown to ``partitions``.
* ``end_offsets`` reads fetch high watermarks (``kafka_offsets``), right on Tansu too.
* Consumers are aiokafka group members with auto-commit off (``kafka_consumer``).
* Replication (``kafka_common.Replication``): topics are created with its factor and
  ``min.insync.replicas``; ``start`` refuses a factor above the cluster's broker count (and one
  replica unless single-broker mode), ``create_topic`` an existing topic with fewer replicas.
  TLS (``ssl_context``) and SASL (``security_protocol``, ``sasl``) apply to every client.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.metadata import MetadataRequest

from faramesh_cloud.log.kafka_common import (
    GroupTimeouts,
    KafkaConnection,
    KafkaSettingsError,
    Replication,
    Sasl,
    stop_quietly,
)
from faramesh_cloud.log.kafka_consumer import KafkaConsumer
from faramesh_cloud.log.kafka_offsets import highwaters
from faramesh_cloud.log.kafka_registry import TOPIC_EXISTS, TopicRegistry
from faramesh_cloud.log.port import (
    AfterAppend,
    LogRecord,
    LogUnavailable,
    Position,
    RecordRejected,
    TopicMismatch,
    TopicRecords,
    UnknownTopic,
    append_then_apply,
    check_record_sizes,
    partition_for,
)

UNKNOWN_TOPIC_OR_PARTITION = 3
_CALLER_ERRORS = frozenset({17, 37, 38, 39, 40})  # invalid topic/partitions/replication/config
_BATCH_BYTES = 1 << 20
_MAX_REQUEST_BYTES = 16 << 20
# What the broker refuses for good, whatever the retry: MessageSizeTooLarge (10) and
# RecordListTooLarge (18), raised as RecordRejected. (CorruptMessage may be a bad wire and
# passes on retry; aiokafka has no class for InvalidRecord.)
_REFUSED_FOR_GOOD = frozenset({10, 18})
APPEND_TIMEOUT_S = 10.0


class KafkaLog:
    """A durable, partitioned log on a Kafka-protocol broker."""

    def __init__(
        self,
        bootstrap: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        client_id: str = "faramesh-cloud",
        group_timeouts: GroupTimeouts | None = None,
        replication: Replication | None = None,
        registry_topic: str = "_faramesh_cloud.topics",
        request_timeout_ms: int = 30_000,
        max_record_bytes: int = _MAX_REQUEST_BYTES,
        security_protocol: str = "",
        sasl: Sasl | None = None,
        partition_counts: Mapping[str, int] | None = None,
        append_timeout_s: float = APPEND_TIMEOUT_S,
    ) -> None:
        # replication: None is one replica on one broker (dev and test brokers; what the
        # adapter always did); the runtime passes Settings' (default 3, min.insync 2), checked
        # against the cluster's broker count at start() and against existing topics.
        # An append the broker has not acknowledged within append_timeout_s raises
        # LogUnavailable (what was sent may still land: callers retry the whole batch, and
        # consumers are idempotent). Below a daemon's Push deadline (docs/sync-api.md: 30 s),
        # so ingest answers UNAVAILABLE while the daemon still waits, not after it gave up.
        self._append_timeout_s = append_timeout_s
        # Records larger than this are refused before anything is sent (RecordRejected); set
        # it to the broker's message.max.bytes (Kafka's default: 1 MiB) to refuse them here
        # rather than at the broker, which answers MessageSizeTooLarge (also RecordRejected).
        self._max_record_bytes = max_record_bytes
        # An operator's partition counts (Settings.kafka_partitions) win over the count a
        # service asks for in create_topic: the code's count is a default, not a contract.
        self._partition_counts = dict(partition_counts or {})
        self._connection = KafkaConnection(bootstrap, ssl_context, client_id, request_timeout_ms,
                                           security_protocol, sasl)
        self._timeouts = group_timeouts or GroupTimeouts()
        self._replication = replication or Replication.one_broker()
        self._registry_topic = registry_topic
        self._admin: AIOKafkaAdminClient | None = None
        self._producer: AIOKafkaProducer | None = None
        self._probe: AIOKafkaConsumer | None = None
        self._registry: TopicRegistry | None = None
        self._consumers: set[KafkaConsumer] = set()

    async def start(self) -> None:
        options = self._connection.options()
        self._admin = AIOKafkaAdminClient(**options)
        self._producer = AIOKafkaProducer(
            **options,
            acks="all",
            enable_idempotence=False,
            linger_ms=0,
            max_batch_size=_BATCH_BYTES,
            max_request_size=_MAX_REQUEST_BYTES,
        )
        self._probe = AIOKafkaConsumer(
            **options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        self._registry = TopicRegistry(
            self._registry_topic, self._admin, self._producer, self._probe, self._replication
        )
        try:
            await self._admin.start()
            await self._check_cluster()
            await self._producer.start()
            await self._probe.start()
            await self._registry.start()
        except KafkaError as exc:
            await self.close()
            raise self._connection.unavailable("connecting", exc) from exc

    async def _check_cluster(self) -> None:
        """Refuse replication settings this cluster cannot honour (before any topic is made)."""
        assert self._admin is not None
        cluster = await self._admin.describe_cluster()
        refusal = self._replication.refusal(len(cluster["brokers"]), self._connection.bootstrap)
        if refusal is not None:
            await self.close()
            raise KafkaSettingsError(refusal)

    async def close(self) -> None:
        for consumer in list(self._consumers):
            await consumer.close()
        probe, producer, admin = self._probe, self._producer, self._admin
        self._registry = self._probe = self._producer = self._admin = None
        if probe is not None:
            await stop_quietly(probe.stop, "registry reader")
        if producer is not None:
            await stop_quietly(producer.stop, "producer")
        if admin is not None:
            await stop_quietly(admin.close, "admin client")

    async def create_topic(self, topic: str, partitions: int) -> None:
        partitions = self._partition_counts.get(topic, partitions)
        if partitions <= 0:
            raise ValueError(f"topic {topic!r}: partitions must be positive, got {partitions}")
        registry = self._started()[1]
        try:
            known = await registry.lookup(topic)
            if known is None:
                known = await self._create_on_broker(topic, partitions)
                if known == partitions:
                    await registry.record(topic, partitions)
            refusal = self._replication.topic_refusal(topic, await self._broker_replicas(topic))
        except KafkaError as exc:
            raise self._connection.unavailable(f"creating topic {topic!r}", exc) from exc
        if refusal is not None:
            raise KafkaSettingsError(refusal)
        if known != partitions:
            raise TopicMismatch(
                f"topic {topic!r} exists with {known} partitions, not {partitions}; "
                "use the existing count or a new topic name (e.g. a new .vN suffix)"
            )

    async def partitions(self, topic: str) -> int:
        registry = self._started()[1]
        try:
            known = await registry.lookup(topic)
        except KafkaError as exc:
            raise self._connection.unavailable(f"looking up topic {topic!r}", exc) from exc
        if known is None:
            raise UnknownTopic(
                f"topic {topic!r} does not exist; create it with create_topic() first"
            )
        return known

    async def append(self, topic: str, records: Sequence[LogRecord]) -> list[Position]:
        producer = self._started()[0]
        count = await self.partitions(topic)
        if not records:
            return []
        check_record_sizes(topic, records, self._max_record_bytes)
        by_partition: dict[int, list[int]] = defaultdict(list)
        for index, record in enumerate(records):
            by_partition[partition_for(record.key, count)].append(index)
        try:
            async with asyncio.timeout(self._append_timeout_s):
                runs = await asyncio.gather(
                    *(
                        _send_partition(producer, topic, p, records, indexes)
                        for p, indexes in by_partition.items()
                    ),
                    return_exceptions=True,
                )
        except TimeoutError as exc:
            raise self._connection.unavailable(
                f"appending to {topic!r}: no acknowledgement within {self._append_timeout_s:g} s "
                "(not all acknowledged; retry the whole batch)", exc
            ) from exc
        positions: list[Position | None] = [None] * len(records)
        for run in runs:
            if isinstance(run, KafkaError) and getattr(run, "errno", None) in _REFUSED_FOR_GOOD:
                raise RecordRejected(
                    f"the broker refused a record appended to {topic!r} for good ({run}); it "
                    "can never be appended as it is (is it over the broker's message.max.bytes?)"
                ) from run
            if isinstance(run, KafkaError):
                raise self._connection.unavailable(
                    f"appending to {topic!r} (not all acknowledged; retry the whole batch)", run
                ) from run
            if isinstance(run, BaseException):
                raise run
            partition, placed = run
            for index, offset in placed:
                positions[index] = Position(topic, partition, offset)
        return [p for p in positions if p is not None]

    async def append_all(
        self, appends: Sequence[TopicRecords], after: AfterAppend | None = None
    ) -> list[list[Position]]:
        for topic, records in appends:  # nothing of the call is sent if one is refused
            check_record_sizes(topic, records, self._max_record_bytes)
        return await append_then_apply(self, appends, after)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        producer, _, probe = self._started()
        count = await self.partitions(topic)
        tps = [TopicPartition(topic, p) for p in range(count)]
        try:
            await producer.partitions_for(topic)  # leader metadata for the fetch
            latest = await probe.end_offsets(tps)
            return await highwaters(
                producer.client, topic, {tp.partition: latest[tp] for tp in tps}
            )
        except KafkaError as exc:
            raise self._connection.unavailable(f"reading end offsets of {topic!r}", exc) from exc

    async def consumer(self, topic: str, group: str) -> KafkaConsumer:
        self._started()
        count = await self.partitions(topic)
        timeouts = self._timeouts
        member = AIOKafkaConsumer(
            topic,
            **self._connection.options(),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=timeouts.session_ms,
            heartbeat_interval_ms=timeouts.heartbeat_ms,
            rebalance_timeout_ms=timeouts.rebalance_ms,
        )
        try:
            await member.start()  # returns once the group gave this member its partitions
        except KafkaError as exc:
            await stop_quietly(member.stop, "consumer")
            raise self._connection.unavailable(f"joining group {group!r}", exc) from exc
        wrapped = KafkaConsumer(
            member, topic, group, count, self._connection, self._consumers.discard
        )
        self._consumers.add(wrapped)
        return wrapped

    def _started(self) -> tuple[AIOKafkaProducer, TopicRegistry, AIOKafkaConsumer]:
        if self._producer is None or self._registry is None or self._probe is None:
            raise LogUnavailable("the Kafka log is not started; call start() first")
        return self._producer, self._registry, self._probe

    async def _create_on_broker(self, topic: str, partitions: int) -> int | None:
        """Create the topic; returns its partition count on the broker afterwards."""
        assert self._admin is not None
        response = await self._admin.create_topics([self._replication.new_topic(topic, partitions)])
        for _, code, *rest in response.topic_errors:
            if code in _CALLER_ERRORS:
                raise ValueError(f"the broker refused topic {topic!r}: {rest[0] if rest else code}")
            if code == TOPIC_EXISTS:
                return await self._broker_partitions(topic)
            if code:
                raise for_code(code)(f"creating topic {topic!r}")
        return partitions

    async def _broker_partitions(self, topic: str) -> int | None:
        """The broker's partition count for a topic, asking without auto-creating it."""
        replicas = await self._broker_replicas(topic)
        return len(replicas) if replicas else None

    async def _broker_replicas(self, topic: str) -> list[int]:
        """The number of replicas of each of the topic's partitions (empty: no such topic),
        asking without auto-creating it."""
        client = self._started()[0].client
        request = MetadataRequest([topic], allow_auto_topic_creation=False)
        response = await client.send(client.get_random_node(), request)
        for entry in response.to_object()["topics"]:
            if entry["topic"] != topic or entry["error_code"] == UNKNOWN_TOPIC_OR_PARTITION:
                continue
            if entry["error_code"]:
                raise for_code(entry["error_code"])(f"describing topic {topic!r}")
            return [len(partition["replicas"]) for partition in entry["partitions"]]
        return []


async def _send_partition(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    records: Sequence[LogRecord],
    indexes: list[int],
) -> tuple[int, list[tuple[int, int]]]:
    """Send one partition's records as full batches, in order; returns (index, offset) pairs
    once the broker acknowledged every batch."""
    pending: list[tuple[asyncio.Future[object], list[int]]] = []
    batch = producer.create_batch()
    members: list[int] = []
    for index in indexes:
        record = records[index]
        headers = [(name, bytes(value)) for name, value in record.headers.items()]
        if (
            batch.append(key=record.key, value=record.value, timestamp=None, headers=headers)
            is None
        ):
            batch.close()
            pending.append((await producer.send_batch(batch, topic, partition=partition), members))
            batch, members = producer.create_batch(), []
            batch.append(key=record.key, value=record.value, timestamp=None, headers=headers)
        members.append(index)
    batch.close()
    pending.append((await producer.send_batch(batch, topic, partition=partition), members))
    acks = await asyncio.gather(*(future for future, _ in pending), return_exceptions=True)
    placed: list[tuple[int, int]] = []
    for ack, (_, batch_members) in zip(acks, pending, strict=True):
        if isinstance(ack, BaseException):
            raise ack
        base: int = ack.offset  # type: ignore[attr-defined]
        placed.extend((index, base + i) for i, index in enumerate(batch_members))
    return partition, placed
