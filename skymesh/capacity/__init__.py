"""Capacity: sharing link capacity among terminals and flows, and what the service costs.

- `allocation`: max-min fair rates over fixed routes (water-filling on a sparse link x flow
  incidence matrix), a sequential-LP cross-check with HiGHS, and how many terminals a set of
  links can carry at a target rate.
- `cost`: terminal hardware and monthly service bills, with every assumption sourced.
"""
