"""Mock Common Services (Evidence Broker, Data Service Directory): catalogue, signed service, client, discovery.

Modules: ``catalogue`` (world file -> objects), ``queries`` (parameters -> answer), ``answers`` (XML bodies),
``signing`` (ES256 chain under the harness PKI), ``service`` (aiohttp server, journal, faults), ``client``
(strict verifying client and parser), ``discovery`` (NAPTR names -> base URL, no DNS).
"""
