"""The sans-I/O core of the Pusher protocol: no sockets, no event loop, no clock of its own.

Everything here is fed input (received text, the current time as a number) and returns
output (frames to send, events, deadlines, decisions). The asyncio layer in
:mod:`reverb.connection` and :mod:`reverb.client` does the I/O.
"""
