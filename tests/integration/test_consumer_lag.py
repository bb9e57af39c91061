"""Consumer lag per partition, read from a real broker's high watermarks."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rescue_shared.messaging.consumer_lag import ConsumerLag
from rescue_shared.messaging.kafka import ensure_topics
from rescue_shared.observability.metrics import ServiceMetrics
from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import eventually

pytestmark = pytest.mark.integration


def lag_by_partition(metrics: ServiceMetrics) -> dict[str, float]:
    text = generate_latest(metrics.registry).decode()
    return {s.labels["partition"]: s.value for f in text_string_to_metric_families(text)
            for s in f.samples if s.name == "consumer_lag_messages"}


async def test_lag_counts_the_messages_not_applied_yet(
    kafka_bootstrap: str, topic_namespace: str,
) -> None:
    settings = ServiceSettings(service_name="lagtest", kafka_bootstrap_servers=kafka_bootstrap,
                               kafka_topic_namespace=topic_namespace, kafka_topic_partitions=1)
    await ensure_topics(settings, ["lag"])
    topic = settings.topic("lag")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, f"m{n}".encode(), partition=0)
    finally:
        await producer.stop()

    metrics = ServiceMetrics()
    lag = ConsumerLag(metrics.consumer_lag)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap,
                                group_id=f"{topic_namespace}lag", enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        async def first_batch() -> dict[TopicPartition, list[object]]:
            batches = await consumer.getmany(timeout_ms=200, max_records=2)
            return batches  # type: ignore[no-any-return]

        batches = await eventually(first_batch, description="a first batch")
        await lag.after_fetch(consumer, batches)
        assert lag_by_partition(metrics) == {"0": 5.0}  # fetched is not applied
        [records] = batches.values()
        for record in records:
            lag.applied(consumer, record)
        assert lag_by_partition(metrics) == {"0": 3.0}

        async def drained() -> bool:
            more = await consumer.getmany(timeout_ms=200)
            await lag.after_fetch(consumer, more)
            for batch in more.values():
                for record in batch:
                    lag.applied(consumer, record)
            return lag_by_partition(metrics) == {"0": 0.0}

        await eventually(drained, description="every message applied")
        lag.forget()
        assert lag_by_partition(metrics) == {}
    finally:
        await consumer.stop()
