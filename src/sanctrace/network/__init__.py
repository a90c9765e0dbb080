"""Ownership and control: the graph, the OFAC 50% rule (and the EU criterion), shell signals.

A pure engine: FtM records and KYB files in, verdicts and signals out. See docs/network.md.
"""

from sanctrace.network.graph import Control, Holding, Node, OwnershipGraph, Problem
from sanctrace.network.kyb import KybError, input_id_of, kyb_companies, read_kyb
from sanctrace.network.listing import designations_from_ftm, listed_from_ftm
from sanctrace.network.rule import Assessment, Verdict, assess
from sanctrace.network.shares import Share, ShareError, parse_share
from sanctrace.network.signals import Signal, SignalConfig, SignalConfigError, shell_signals

__all__ = [
    "Assessment",
    "Control",
    "Holding",
    "KybError",
    "Node",
    "OwnershipGraph",
    "Problem",
    "Share",
    "ShareError",
    "Signal",
    "SignalConfig",
    "SignalConfigError",
    "Verdict",
    "assess",
    "designations_from_ftm",
    "input_id_of",
    "kyb_companies",
    "listed_from_ftm",
    "parse_share",
    "read_kyb",
    "shell_signals",
]
