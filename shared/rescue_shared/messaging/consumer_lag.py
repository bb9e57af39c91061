"""Consumer lag per assigned partition: how many messages wait before this consumer has applied
them (high watermark minus the next offset to apply), kept in the `consumer_lag_messages` gauge.

The high watermark comes with every fetch response (aiokafka's `highwater`), so the gauge is
refreshed after each fetch and after each applied message, without a call to the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord
from prometheus_client import Gauge


class ConsumerLag:
    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        # The next offset to apply per partition: it moves only when records come.
        self._next_offset: dict[TopicPartition, int] = {}

    async def after_fetch(
        self, consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        """Lag of every assigned partition once a fetch returned (its records not applied yet)."""
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:  # not fetched yet: unknown, rather than a made-up 0
                continue
            records = batches.get(tp)
            if records:
                next_offset = records[0].offset
            elif (known := self._next_offset.get(tp)) is not None:
                next_offset = known
            else:  # first look since the assignment (bounded: never hold up consumption)
                try:
                    next_offset = await asyncio.wait_for(consumer.position(tp), timeout=1.0)
                except (TimeoutError, IllegalStateError):  # slow, or revoked meanwhile
                    continue
            self._set(tp, highwater, next_offset)

    def applied(self, consumer: AIOKafkaConsumer, record: ConsumerRecord[bytes, bytes]) -> None:
        """Lag of the record's partition once the record is applied (or skipped, dead-lettered)."""
        tp = TopicPartition(record.topic, record.partition)
        if tp in consumer.assignment() and (highwater := consumer.highwater(tp)) is not None:
            self._set(tp, highwater, record.offset + 1)

    def forget(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Drop the partitions (all when None) no longer assigned here: another member reports
        them now."""
        for tp in list(self._next_offset if partitions is None else partitions):
            if self._next_offset.pop(tp, None) is not None:
                self._gauge.remove(tp.topic, str(tp.partition))

    def _set(self, tp: TopicPartition, highwater: int, next_offset: int) -> None:
        self._next_offset[tp] = next_offset
        self._gauge.labels(tp.topic, str(tp.partition)).set(max(0, highwater - next_offset))
