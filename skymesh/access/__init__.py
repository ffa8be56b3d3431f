"""The access network: service cells, user beams, the 15 s reconfiguration slots, access delay.

Sits between ``links/`` (geometry, link budget) and ``network/`` (routing): it decides which
satellite serves which terminal (cell) in each slot and what the access network adds to the RTT.
"""
