#!/usr/bin/env python3
"""A TCP relay: LISTEN_PORT on 127.0.0.1 to TARGET_HOST:TARGET_PORT. The HA lab runs one in each
vault namespace so that the vault reaches the one Horizonpay simulator as a loopback URL (the
vault takes plain http only to loopback; production providers are https).
usage: relay.py LISTEN_PORT TARGET_HOST TARGET_PORT"""
import asyncio, sys

listen, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def serve(client_reader, client_writer):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()

asyncio.run(main())
