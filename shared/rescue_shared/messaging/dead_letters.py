"""Operators' view of dead letters: list them, and replay them once the cause is fixed.

`rescue-dlt list rescue.eligibility.v1` prints every dead letter of that topic with its reason;
`rescue-dlt replay rescue.eligibility.v1 --partition 0 --offset 12` sends one back to its origin
topic (all of them without --offset). A replayed event that was already applied is skipped by
the consumers' inbox, so replaying is always safe.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

REPLAY_HEADER = "dlt.replayed_from_offset"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def origin_topic(self) -> str:
        return self.headers["dlt.origin.topic"]


async def read_dead_letters(bootstrap: str, dead_letter_topic: str) -> list[DeadLetter]:
    """Every message currently in the dead-letter topic, in offset order per partition."""
    reader = AIOKafkaConsumer(dead_letter_topic, bootstrap_servers=bootstrap,
                              enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    try:
        while not reader.assignment():
            await reader.getmany(timeout_ms=100)
        end = await reader.end_offsets(list(reader.assignment()))
        await reader.seek_to_beginning()
        letters: list[DeadLetter] = []
        while [tp for tp, last in end.items() if await reader.position(tp) < last]:
            for batch in (await reader.getmany(timeout_ms=500)).values():
                letters += [DeadLetter(r.partition, r.offset, r.key, r.value,
                                       {k: v.decode(errors="replace") for k, v in r.headers})
                            for r in batch]
        return letters
    finally:
        await reader.stop()


async def replay(bootstrap: str, letters: list[DeadLetter]) -> int:
    """Send dead letters back to their origin topics, keeping key and original headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for letter in letters:
            headers = [(k, v.encode()) for k, v in letter.headers.items()
                       if not k.startswith("dlt.")]
            headers.append((REPLAY_HEADER, f"{letter.partition}:{letter.offset}".encode()))
            await producer.send_and_wait(letter.origin_topic, letter.value, key=letter.key,
                                         headers=headers)
    finally:
        await producer.stop()
    return len(letters)


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("topic", help="origin topic, e.g. rescue.eligibility.v1 (with namespace)")
    parser.add_argument("--partition", type=int, help="with --offset: the dead letter's partition")
    parser.add_argument("--offset", type=int, help="replay only the dead letter at this offset")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS",
                                                              "127.0.0.1:9092"))
    args = parser.parse_args(argv)
    letters = asyncio.run(read_dead_letters(args.bootstrap, f"{args.topic}.DLT"))
    if args.command == "list":
        for letter in letters:
            print(json.dumps({"partition": letter.partition, "offset": letter.offset,
                              "key": (letter.key or b"").decode(errors="replace"),
                              "error": letter.headers.get("dlt.error"),
                              "consumer_group": letter.headers.get("dlt.consumer_group"),
                              "origin": "{}[{}]@{}".format(
                                  letter.origin_topic, letter.headers.get("dlt.origin.partition"),
                                  letter.headers.get("dlt.origin.offset"))}))
        return
    chosen = [le for le in letters if args.offset is None
              or (le.offset == args.offset and args.partition in (None, le.partition))]
    print(f"replayed {asyncio.run(replay(args.bootstrap, chosen))} dead letter(s)")


if __name__ == "__main__":
    main()
