"""Fault injection: a TCP fault proxy in front of real servers, and a client driven through it."""
