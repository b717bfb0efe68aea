"""A loopback proxy in front of the embedded Tansu broker, for clients built on librdkafka < 2.1.

Tansu's ApiVersions v3 reply carries every optional tagged field (SupportedFeatures,
FinalizedFeaturesEpoch, ...) even at its default value; Apache Kafka omits them. librdkafka 2.0
(Debian bookworm's kcat) mis-skips those tags and drops the connection ("Read underflow"). The
proxy rewrites that one reply without its trailing tagged fields, then copies bytes unchanged.

Tansu only: `rapidaid dev` starts it in front of Tansu and never with --broker kafka, whose own
reply librdkafka reads; the bench and test stacks reach either broker directly.
"""

import asyncio
import logging
import struct

log = logging.getLogger(__name__)
API_VERSIONS = 18
FIRST_FLEXIBLE_API_VERSIONS = 3
CHUNK = 1 << 16


def read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned varint at pos; return the value and the position after it."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def skip_tagged_fields(data: bytes, pos: int) -> int:
    """The position after a tagged-field section starting at pos."""
    count, pos = read_uvarint(data, pos)
    for _ in range(count):
        _, pos = read_uvarint(data, pos)
        size, pos = read_uvarint(data, pos)
        pos += size
    return pos


def without_trailing_tags(response: bytes) -> bytes:
    """An ApiVersions v3+ response (correlation id onward) with an empty final tagged-field section."""
    count, pos = read_uvarint(response, 6)  # after correlation id and error code
    for _ in range(count - 1):
        pos = skip_tagged_fields(response, pos + 6)  # api key, min and max version
    pos += 4  # throttle time
    return response[:pos] + b"\x00"


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One size-prefixed Kafka frame, without its size."""
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


def write_frame(writer: asyncio.StreamWriter, frame: bytes) -> None:
    """Write a frame with its size prefix."""
    writer.write(struct.pack(">i", len(frame)) + frame)


async def copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until the reader closes."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


async def client_to_broker(client: asyncio.StreamReader, broker: asyncio.StreamWriter, handshake: asyncio.Future) -> None:
    """Forward the first request, telling the other direction whether it opened a flexible ApiVersions exchange."""
    request = await read_frame(client)
    api_key, api_version, correlation_id = struct.unpack(">hhi", request[:8])
    flexible = api_key == API_VERSIONS and api_version >= FIRST_FLEXIBLE_API_VERSIONS
    handshake.set_result(correlation_id if flexible else None)
    write_frame(broker, request)
    await broker.drain()
    await copy(client, broker)


async def broker_to_client(broker: asyncio.StreamReader, client: asyncio.StreamWriter, handshake: asyncio.Future) -> None:
    """Rewrite the ApiVersions reply if the first request asked for one, then copy."""
    correlation_id = await handshake
    if correlation_id is not None:
        response = await read_frame(broker)
        if struct.unpack(">i", response[:4])[0] == correlation_id:
            response = without_trailing_tags(response)
        write_frame(client, response)
        await client.drain()
    await copy(broker, client)


async def serve(listen_host: str, listen_port: int, upstream_host: str, upstream_port: int) -> None:
    """Accept connections on the listen address and relay each to the upstream broker, forever."""

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            broker_reader, broker_writer = await asyncio.open_connection(upstream_host, upstream_port)
        except OSError as error:
            log.warning("broker unreachable: %s", error)
            client_writer.close()
            return
        handshake = asyncio.get_running_loop().create_future()
        directions = [
            asyncio.create_task(client_to_broker(client_reader, broker_writer, handshake)),
            asyncio.create_task(broker_to_client(broker_reader, client_writer, handshake)),
        ]
        try:
            done, _ = await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.exception()  # a peer hanging up ends the relay; nothing to report
        finally:
            for task in directions:
                task.cancel()
            for writer in (client_writer, broker_writer):
                writer.close()

    server = await asyncio.start_server(relay, listen_host, listen_port)
    async with server:
        await server.serve_forever()
