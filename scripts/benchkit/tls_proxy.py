#!/usr/bin/env python3
"""DynamoDB as a Lambda function reaches it: over TLS, a network round trip away.

A TLS terminator in front of moto: it accepts a function's connection, waits two round trips
(TCP's handshake, then TLS 1.3's) before it answers the ClientHello, then serves a certificate
of a CA that the function trusts through SSL_CERT_FILE. Each HTTP request is read whole, held
half a round trip, sent to moto on a keep-alive connection of its own, and its answer held
half a round trip before it goes back.

For each call it counts the time the call spent here, from the request read to the answer
written (the round trip, moto's time and the proxy's own), so that the bench can replace it
by what DynamoDB would take; and the `ConsumedCapacity` of moto's answer (the request units).

GET http://127.0.0.1:<stats port>/stats answers the totals since start, as JSON: calls,
moto_ns, held_ns (time calls spent here), handshakes, read_units, write_units, by_operation.

Run as its own process (scripts/benchkit/tls.py starts it): its event loop and the bench's
threads do not share an interpreter lock.
"""
import argparse
import asyncio
import json
import ssl
import time

READ_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


class Stats:
    def __init__(self):
        self.calls = 0
        self.moto_ns = 0
        self.held_ns = 0
        self.handshakes = 0
        self.read_units = 0.0
        self.write_units = 0.0
        self.by_operation = {}

    def as_json(self):
        return json.dumps(self.__dict__).encode()

    def count(self, operation, moto_ns, held_ns, body):
        self.calls += 1
        self.moto_ns += moto_ns
        self.held_ns += held_ns
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
        read, write = consumed_units(operation, body)
        self.read_units += read
        self.write_units += write


def consumed_units(operation, body):
    """(read units, write units) of a DynamoDB answer's ConsumedCapacity, if it has one."""
    try:
        consumed = json.loads(body or b"{}").get("ConsumedCapacity")
    except (ValueError, AttributeError):
        return 0.0, 0.0
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    read = write = 0.0
    for entry in entries:
        if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
            read += float(entry.get("ReadCapacityUnits") or 0)
            write += float(entry.get("WriteCapacityUnits") or 0)
        elif operation in READ_OPERATIONS:
            read += float(entry.get("CapacityUnits") or 0)
        else:
            write += float(entry.get("CapacityUnits") or 0)
    return read, write


async def read_message(reader):
    """One HTTP/1.1 message (headers and a Content-Length or chunked body), as bytes, and its
    headers; None at the end of the stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower().decode()] = value.strip().decode()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        raw = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            raw += size_line
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            raw += chunk
            body += chunk[:-2]
            if size == 0:
                return head + bytes(raw), headers, bytes(body)
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return head + body, headers, body


async def serve(reader, writer, context, upstream_port, delay, stats):
    """One connection of a function: the handshakes' round trips, then its requests, one at a
    time, to moto and back, each way half a round trip late."""
    # The ClientHello stays in the socket until the TLS layer reads it: read by the stream
    # meanwhile, it would be lost to the handshake.
    writer.transport.pause_reading()
    await asyncio.sleep(2 * delay)
    try:
        await writer.start_tls(context)
    except (ssl.SSLError, ConnectionError, OSError):
        writer.close()
        return
    stats.handshakes += 1
    moto_reader, moto_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    try:
        while True:
            try:
                request, headers, _ = await read_message(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            received = time.perf_counter_ns()
            operation = headers.get("x-amz-target", "").rsplit(".", 1)[-1]
            await asyncio.sleep(delay)
            sent = time.perf_counter_ns()
            moto_writer.write(request)
            await moto_writer.drain()
            response, _, body = await read_message(moto_reader)
            answered = time.perf_counter_ns()
            await asyncio.sleep(delay)
            writer.write(response)
            await writer.drain()
            stats.count(operation, answered - sent, time.perf_counter_ns() - received, body)
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return
    finally:
        moto_writer.close()
        writer.close()


async def serve_stats(reader, writer, stats):
    try:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return
        body = stats.as_json()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
    finally:
        writer.close()


async def main(args):
    stats = Stats()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    delay = args.rtt_ms / 2000
    proxy = await asyncio.start_server(lambda r, w: serve(r, w, context, args.upstream, delay, stats),
                                       "127.0.0.1", args.listen)
    stats_server = await asyncio.start_server(lambda r, w: serve_stats(r, w, stats), "127.0.0.1", args.stats)
    async with proxy, stats_server:
        await asyncio.gather(proxy.serve_forever(), stats_server.serve_forever())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True, help="the port functions connect to (TLS)")
    parser.add_argument("--upstream", type=int, required=True, help="moto's port (plain HTTP)")
    parser.add_argument("--stats", type=int, required=True, help="the port of GET /stats")
    parser.add_argument("--rtt-ms", type=float, default=2.0, help="the network's round trip (default 2 ms)")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    asyncio.run(main(parser.parse_args()))
