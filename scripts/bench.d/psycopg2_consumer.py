# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""The hand-rolled Python consumer people write: psycopg2's LogicalReplicationConnection, raw pgoutput bytes.

Throughput mode (--endpos LSN): reads until the server has sent everything up to LSN, confirming what it read,
then prints {"changes": N} and exits. Streaming mode (--stream): writes every message followed by a newline to
standard output, as pg_recvlogical -f - does, confirming as it goes, until SIGTERM.
"""

import argparse
import json
import os
import select
import signal
import sys

import psycopg2
import psycopg2.extras


def parse_lsn(text):
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--slot", required=True)
    parser.add_argument("--publication", required=True)
    parser.add_argument("--binary", action="store_true")
    parser.add_argument("--endpos")
    parser.add_argument("--stream", action="store_true")
    arguments = parser.parse_args()
    endpos = parse_lsn(arguments.endpos) if arguments.endpos else None
    output = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything a library prints goes to the log, not into the data

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)

    connection = psycopg2.connect(arguments.dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cursor = connection.cursor()
    options = {"proto_version": "1", "publication_names": arguments.publication}
    if arguments.binary:
        options["binary"] = "true"
    cursor.start_replication(slot_name=arguments.slot, decode=False, options=options, status_interval=1)

    changes = 0
    while not stopping:
        message = cursor.read_message()
        if message is None:
            if endpos is not None and cursor.wal_end >= endpos:
                break
            try:
                select.select([cursor], [], [], 0.5)
            except InterruptedError:
                pass
            continue
        payload = message.payload
        if payload[0] in b"IUD":
            changes += 1
        if arguments.stream:
            output.write(bytes(payload) + b"\n")
        # Confirm what was consumed, as psycopg2's documentation does; it goes out with the next status update.
        cursor.send_feedback(flush_lsn=message.data_start)
        if endpos is not None and message.data_start >= endpos:
            break
    if endpos is not None:
        cursor.send_feedback(flush_lsn=cursor.wal_end, force=True)
    connection.close()
    if not arguments.stream:
        output.write(json.dumps({"changes": changes}).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
