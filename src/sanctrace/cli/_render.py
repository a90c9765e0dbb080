"""How commands show the services' answers to people (the JSON forms are the answers'
``to_dict()``)."""

from __future__ import annotations

from sanctrace.services.addresses import AddressAnswer, is_sanctioned

__all__ = ["address_findings", "address_summary"]


def address_findings(answer: AddressAnswer) -> list[tuple[bool, str]]:
    """(sanctioned, text) per finding of an address screening."""
    lines: list[tuple[bool, str]] = []
    for hit in answer.hits:
        lines.append(
            (
                True,
                f"listed: {hit['address']} ({hit['asset']}) → {hit['caption']} "
                f"[{hit['entity_id']}] in {hit['source']} snapshot {hit['snapshot_id']}",
            )
        )
    for tag in answer.tags:
        lines.append((is_sanctioned(tag), f"tag: {tag['reason']} ({tag['origin']})"))
    if answer.cluster:
        for member in answer.cluster.tagged:
            for tag in member.tags:
                lines.append((is_sanctioned(tag), f"cluster: {tag['reason']}"))
    return lines


def address_summary(answer: AddressAnswer) -> str:
    """One line on what was looked at, and the verdict."""
    parts = [f"{answer.address} ({answer.chain or 'unknown chain'})"]
    if not answer.hits:
        parts.append("no list hit")
    if not answer.tags:
        parts.append("no tag")
    cluster = answer.cluster
    if cluster is None:
        parts.append("no cluster map entry")
    else:
        parts.append(
            f"cluster {cluster.id} of {cluster.size} addresses, {len(cluster.tagged)} tagged"
        )
    verdict = "SANCTIONED" if answer.sanctioned else "not sanctioned"
    return f"{parts[0]}: {', '.join(parts[1:])}; {verdict}"
