"""Kafka clients configured the way the platform's reliability rules need them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from rescue_shared.settings import ServiceSettings

log = logging.getLogger(__name__)


def build_producer(settings: ServiceSettings, client_suffix: str) -> AIOKafkaProducer:
    """Idempotent producer (acks=all, no duplicates from its own retries, order kept per key)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-{client_suffix}",
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
    )


async def ensure_topics(settings: ServiceSettings, base_names: Iterable[str]) -> None:
    """Create the given topics and their dead-letter topics if they do not exist yet."""
    names: list[str] = []
    for base in base_names:
        names += [settings.topic(base), settings.topic(f"{base}.DLT")]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-admin",
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        if not missing:
            return
        new_topics = [
            NewTopic(
                name=n,
                num_partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
            for n in missing
        ]
        response = await admin.create_topics(new_topics)
        for topic, code, *message in response.topic_errors:
            # 36: created meanwhile by another replica or service, which is fine.
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"cannot create topic {topic}: error {code} {message}")
        log.info("created topics %s", missing)
    finally:
        await admin.close()
