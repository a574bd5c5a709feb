#!/usr/bin/env python3
"""Checks a Confluent-compatible schema registry with Confluent's own Python client.

    bash scripts/python/run.sh scripts/python/registry_check.py http://127.0.0.1:8081

Registers an Avro schema, reads it back by id and as the latest version, checks that the same schema
twice gets the same id, that an incompatible change is refused (409), and that AvroSerializer /
AvroDeserializer round-trip a record in the Confluent wire format. Exits 0 when everything holds.
"""
import json
import sys
import time

import confluent_kafka

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

V1 = {"type": "record", "name": "PyCheck", "namespace": "check", "fields": [
    {"name": "id", "type": "string"},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
]}
V2 = {**V1, "fields": V1["fields"] + [{"name": "note", "type": ["null", "string"], "default": None}]}
BREAKING = {**V1, "fields": V1["fields"] + [{"name": "country", "type": "string"}]}


def main(url: str) -> int:
    client = SchemaRegistryClient({"url": url})
    topic = f"pycheck_{int(time.time() * 1000)}"
    subject = f"{topic}-value"

    id1 = client.register_schema(subject, Schema(json.dumps(V1), "AVRO"))
    assert client.register_schema(subject, Schema(json.dumps(V1, indent=2), "AVRO")) == id1, "same schema twice, same id"
    fetched = client.get_schema(id1)
    assert json.loads(fetched.schema_str)["name"] == "PyCheck", fetched.schema_str
    try:
        client.register_schema(subject, Schema(json.dumps(BREAKING), "AVRO"))
        raise AssertionError("an incompatible schema was accepted")
    except SchemaRegistryError as e:
        assert e.http_status_code == 409, (e.http_status_code, e.error_code, e.error_message)
    assert client.test_compatibility(subject, Schema(json.dumps(V2), "AVRO")) is True
    id2 = client.register_schema(subject, Schema(json.dumps(V2), "AVRO"))
    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (id2, 2), latest
    assert client.get_versions(subject) == [1, 2]
    assert subject in client.get_subjects()
    assert client.get_compatibility() == "BACKWARD"  # global default
    client.set_compatibility(subject, "FULL")
    assert client.get_compatibility(subject) == "FULL"

    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = AvroSerializer(client, json.dumps(V2), conf={"auto.register.schemas": False, "use.latest.version": True})
    deserializer = AvroDeserializer(client)
    record = {"id": "py-1", "at": 1700000000123, "note": "from python"}
    data = serializer(record, ctx)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == id2, data[:5]
    back = deserializer(data, ctx)
    at = back["at"]
    at_ms = int(at.timestamp() * 1000) if hasattr(at, "timestamp") else at
    assert back["id"] == "py-1" and at_ms == 1700000000123 and back["note"] == "from python", back

    client.delete_version(subject, 2)
    assert client.get_versions(subject) == [1]
    client.delete_subject(subject)
    client.delete_subject(subject, permanent=True)
    print(f"OK: {url} works with confluent-kafka {confluent_kafka.__version__} (ids {id1}, {id2})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
