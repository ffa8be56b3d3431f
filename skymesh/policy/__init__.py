"""Service policy: who may be served, where gateways may operate, where traffic may exit.

A policy is plain data read from TOML (:func:`load_policy`, layout in
:mod:`skymesh.policy.rules`), compiled into per-country on/off timelines and
queried in bulk: :func:`service_active` (terminals x times),
:func:`landing_allowed` and :func:`exit_allowed` (gateways x times). The
masks these return are applied to the network graph by later stages.
"""

from skymesh.policy.rules import (
    Policy,
    default_policy,
    exit_allowed,
    landing_allowed,
    load_policy,
    policy_from_dict,
    service_active,
)

__all__ = [
    "Policy",
    "default_policy",
    "exit_allowed",
    "landing_allowed",
    "load_policy",
    "policy_from_dict",
    "service_active",
]
